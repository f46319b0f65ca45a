// Writes a tiny random-weight VILA-1.5 checkpoint in the published layout (Efficient-Large-Model/
// VILA1.5-3b / Llama-3-VILA1.5-8B shaped, a few KB):
//   config.json                      model_type llava_llama, LlavaLlamaModel, llm_cfg / vision_tower_cfg /
//                                    mm_projector_cfg copies, the multimodal fields
//   llm/config.json, model.safetensors (model.*, lm_head.weight), tokenizer.json, tokenizer_config.json,
//       generation_config.json       a Llama-3 style byte-level BPE tokenizer with the Llama-3 specials
//   vision_tower/config.json, model.safetensors (vision_model.*), preprocessor_config.json (SigLIP)
//   mm_projector/config.json, model.safetensors (layers.*)
import { encodeFloats, type TensorInput } from '../../safetensors/writer.js';
import { tinyTensors } from '../../tiny/weights.js';
import { buildBpeTokenizer } from '../../tokenizer/bpe-build.js';
import { parseVilaConfig, type VilaConfig } from './config.js';
import { vilaExpectedTensors, vilaStorage } from './weights.js';
import { TinyFiles, jsonText } from '../../tiny/files.js';

/** Llama-3's special tokens (ids 0.. here; 128000.. in Llama-3). */
export const TINY_VILA_SPECIAL_TOKENS: readonly string[] = ['<|begin_of_text|>', '<|end_of_text|>', '<|start_header_id|>', '<|end_header_id|>', '<|eot_id|>'];

const TINY_CORPUS: readonly string[] = [
  'You are a helpful language and vision assistant.',
  'You are able to understand the visual content that the user provides, and assist the user with a variety of tasks using natural language.',
  'What is in the image? Answer: a cat',
  'What color is the car? Answer: red',
  'How many dogs are there? Answer: two',
  'Describe the picture in one sentence.',
];

export interface TinyVilaOptions {
  seed?: number;
  /** mm_projector_type (default mlp_downsample). */
  projector?: string;
  /** image_aspect_ratio (default 'resize'; null writes none). */
  imageAspectRatio?: string | null;
  /** Fields merged into the sub-configs (both the folder's config.json and the top-level copy) or the top level. */
  configOverrides?: { top?: Record<string, unknown>; llm?: Record<string, unknown>; vision?: Record<string, unknown>; projector?: Record<string, unknown> };
}

export interface TinyVilaCheckpoint {
  dir: string;
  config: VilaConfig;
  /** Every file written, relative to dir, sorted. */
  files: string[];
}


export async function writeTinyVila(dir: string, opts: TinyVilaOptions = {}): Promise<TinyVilaCheckpoint> {
  const { seed = 0, projector = 'mlp_downsample' } = opts;
  const o = opts.configOverrides ?? {};
  const tok = buildBpeTokenizer({
    style: 'byte-level',
    specialTokens: TINY_VILA_SPECIAL_TOKENS,
    corpus: TINY_CORPUS,
    numMerges: 80,
    bosToken: '<|begin_of_text|>',
    eosToken: '<|end_of_text|>',
    addBosToken: true,
    extraTokenizerConfig: { tokenizer_class: 'PreTrainedTokenizerFast', model_max_length: 4096 },
  });
  const vocab = (tok.tokenizerJson['model'] as { vocab: Record<string, number> }).vocab;
  const addedIds = (tok.tokenizerJson['added_tokens'] as Array<{ id: number }> | undefined)?.map((t) => t.id) ?? [];
  const vocabSize = Math.max(...Object.values(vocab), ...addedIds) + 1;
  const id = (t: string): number => vocab[t] ?? (tok.tokenizerJson['added_tokens'] as Array<{ id: number; content: string }>).find((a) => a.content === t)!.id;

  const llmCfg: Record<string, unknown> = {
    _name_or_path: './llm', architectures: ['LlamaForCausalLM'], model_type: 'llama', attention_bias: false, hidden_act: 'silu',
    hidden_size: 64, intermediate_size: 128, num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2,
    max_position_embeddings: 4096, model_max_length: 4096, tokenizer_model_max_length: 4096, tokenizer_padding_side: 'right',
    rms_norm_eps: 1e-5, rope_scaling: null, rope_theta: 500000.0, tie_word_embeddings: false, vocab_size: vocabSize,
    bos_token_id: id('<|begin_of_text|>'), eos_token_id: id('<|end_of_text|>'), torch_dtype: 'float32', ...o.llm,
  };
  // 5 x 5 patches: an odd grid, so mlp_downsample pads a zero row and column (27 x 27 in the real tower).
  const visionCfg: Record<string, unknown> = {
    _name_or_path: './vision_tower', architectures: ['SiglipVisionModel'], model_type: 'siglip_vision_model', hidden_act: 'gelu_pytorch_tanh',
    hidden_size: 32, intermediate_size: 64, num_hidden_layers: 3, num_attention_heads: 4, num_channels: 3, image_size: 40, patch_size: 8,
    layer_norm_eps: 1e-6, torch_dtype: 'float32', ...o.vision,
  };
  const projCfg: Record<string, unknown> = {
    _name_or_path: './mm_projector', architectures: ['MultimodalProjector'], model_type: 'v2l_projector', mm_projector_type: projector, torch_dtype: 'float32', ...o.projector,
  };
  const top: Record<string, unknown> = {
    _name_or_path: 'tiny/Llama-3-VILA1.5', architectures: ['LlavaLlamaModel'], model_type: 'llava_llama', drop_path_rate: 0.0,
    hidden_size: llmCfg['hidden_size'], mm_hidden_size: visionCfg['hidden_size'],
    ...(opts.imageAspectRatio === null ? {} : { image_aspect_ratio: opts.imageAspectRatio ?? 'resize' }),
    interpolate_mode: 'linear', llm_cfg: llmCfg, mm_projector_cfg: projCfg, mm_projector_lr: null, mm_use_im_patch_token: false,
    mm_use_im_start_end: false, mm_vision_select_feature: 'cls_patch', mm_vision_select_layer: -2, model_dtype: 'torch.float32',
    num_video_frames: 8, resume_path: './vlm', s2: false, s2_max_split_size: 336, s2_scales: '336,672,1008', transformers_version: '4.36.2',
    vision_resolution: -1, vision_tower_cfg: visionCfg, ...o.top,
  };
  const config = parseVilaConfig(top, 'writeTinyVila config.json');

  const out = await TinyFiles.create(dir);
  const byFolder = new Map<string, Map<string, TensorInput>>([['llm', new Map()], ['vision_tower', new Map()], ['mm_projector', new Map()]]);
  for (const t of tinyTensors(vilaExpectedTensors(config), seed)) {
    const { folder, name } = vilaStorage(t.name);
    byFolder.get(folder)!.set(name, { dtype: 'F32', shape: t.shape, data: encodeFloats(t.values, 'F32') });
  }
  await out.text('config.json', jsonText(top));
  const configs: Record<string, Record<string, unknown>> = { llm: llmCfg, vision_tower: visionCfg, mm_projector: projCfg };
  for (const [folder, tensors] of byFolder) {
    const { _name_or_path: _, ...cfg } = configs[folder]!;
    await out.text(`${folder}/config.json`, jsonText(cfg));
    await out.safetensors(`${folder}/model.safetensors`, tensors);
  }
  await out.text('llm/tokenizer.json', jsonText(tok.tokenizerJson));
  await out.text('llm/tokenizer_config.json', jsonText(tok.tokenizerConfig));
  await out.text('llm/generation_config.json', jsonText({ bos_token_id: id('<|begin_of_text|>'), eos_token_id: [id('<|end_of_text|>'), id('<|eot_id|>')] }));
  const S = config.vision.imageSize;
  await out.text('vision_tower/preprocessor_config.json', jsonText({
    do_normalize: true, do_rescale: true, do_resize: true, image_mean: [0.5, 0.5, 0.5], image_std: [0.5, 0.5, 0.5],
    image_processor_type: 'SiglipImageProcessor', processor_class: 'SiglipProcessor', resample: 3, rescale_factor: 0.00392156862745098,
    size: { height: S, width: S },
  }));
  return { dir, config, files: out.files };
}
