// Writes a tiny random-weight Qwen2-VL (or, with variant 'qwen2_5_vl', Qwen2.5-VL) checkpoint in the
// exact Hugging Face layout (Qwen/Qwen2-VL-2B-Instruct / Qwen/Qwen2.5-VL-3B-Instruct shaped, a few
// KB): config.json (text fields at the top level, rope_scaling {type: mrope, mrope_section}),
// model.safetensors with the published names (model.*, visual.*; tied lm_head not stored), a
// byte-level BPE tokenizer.json + tokenizer_config.json with the real Qwen2-VL special tokens (in
// their published order, ids from 0 here) and the Qwen2-VL chat template, chat_template.json,
// preprocessor_config.json (min_pixels / max_pixels) and generation_config.json.
import { encodeFloats, type TensorInput } from '../../safetensors/writer.js';
import { tinyTensors } from '../../tiny/weights.js';
import { buildBpeTokenizer } from '../../tokenizer/bpe-build.js';
import { parseQwen2VLConfig, type Qwen2VLConfig, type Qwen2VLVariant } from './config.js';
import { qwen2VLDiskName, qwen2VLExpectedTensors } from './weights.js';
import { TinyFiles, jsonText } from '../../tiny/files.js';

/** Qwen2-VL's added tokens in their published order (ids 151643.. in the real vocabulary). */
export const QWEN2_VL_SPECIAL_TOKENS: readonly string[] = [
  '<|endoftext|>', '<|im_start|>', '<|im_end|>', '<|object_ref_start|>', '<|object_ref_end|>', '<|box_start|>', '<|box_end|>',
  '<|quad_start|>', '<|quad_end|>', '<|vision_start|>', '<|vision_end|>', '<|vision_pad|>', '<|image_pad|>', '<|video_pad|>',
];

/** The chat template published with Qwen2-VL-2B-Instruct (default system prompt, one vision block per image). */
export const QWEN2_VL_CHAT_TEMPLATE =
  "{% set image_count = namespace(value=0) %}{% set video_count = namespace(value=0) %}{% for message in messages %}{% if loop.first and message['role'] != 'system' %}<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n{% endif %}<|im_start|>{{ message['role'] }}\n" +
  "{% if message['content'] is string %}{{ message['content'] }}<|im_end|>\n{% else %}{% for content in message['content'] %}" +
  "{% if content['type'] == 'image' or 'image' in content or 'image_url' in content %}{% set image_count.value = image_count.value + 1 %}{% if add_vision_id %}Picture {{ image_count.value }}: {% endif %}<|vision_start|><|image_pad|><|vision_end|>" +
  "{% elif content['type'] == 'video' or 'video' in content %}{% set video_count.value = video_count.value + 1 %}{% if add_vision_id %}Video {{ video_count.value }}: {% endif %}<|vision_start|><|video_pad|><|vision_end|>" +
  "{% elif 'text' in content %}{{ content['text'] }}{% endif %}{% endfor %}<|im_end|>\n{% endif %}{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}";

const TINY_CORPUS: readonly string[] = [
  '<|im_start|>system\nYou are a helpful assistant.<|im_end|>',
  '<|im_start|>user\nWhat is in the image?<|im_end|>',
  '<|im_start|>assistant\nA cat sitting on a mat.<|im_end|>',
  'What color is the car? The car is red.',
  'Describe the picture in one sentence.',
  'There are two dogs playing in the park.',
  'How many people are there? Answer: three',
];

export interface TinyQwen2VLOptions {
  seed?: number;
  /** Stored dtype of every tensor (default F32; F16 halves the file, e.g. for the 2B-dimension bench). */
  dtype?: 'F32' | 'F16';
  /** 'qwen2_vl' (default) or 'qwen2_5_vl' (RMSNorm, SwiGLU, window attention). */
  variant?: Qwen2VLVariant;
  /** preprocessor_config.json min_pixels / max_pixels (default 256 / 2048: 2x2 to 32 merged tokens at factor 8). */
  minPixels?: number;
  maxPixels?: number;
  /** Fields merged into config.json's top level (the text fields) or vision_config, after the tiny values. */
  configOverrides?: { top?: Record<string, unknown>; vision?: Record<string, unknown> };
}

export interface TinyQwen2VLCheckpoint {
  dir: string;
  config: Qwen2VLConfig;
  files: string[];
}


export async function writeTinyQwen2VL(dir: string, opts: TinyQwen2VLOptions = {}): Promise<TinyQwen2VLCheckpoint> {
  const { seed = 0, variant = 'qwen2_vl', minPixels = 256, maxPixels = 2048, dtype = 'F32' } = opts;
  const q25 = variant === 'qwen2_5_vl';
  const tok = buildBpeTokenizer({
    style: 'byte-level',
    specialTokens: QWEN2_VL_SPECIAL_TOKENS,
    corpus: TINY_CORPUS,
    numMerges: 60,
    bosToken: null,
    eosToken: '<|im_end|>',
    padToken: '<|endoftext|>',
    unkToken: null,
    chatTemplate: QWEN2_VL_CHAT_TEMPLATE,
    extraTokenizerConfig: { processor_class: q25 ? 'Qwen2_5_VLProcessor' : 'Qwen2VLProcessor', model_max_length: 32768 },
  });
  const vocab = (tok.tokenizerJson['model'] as { vocab: Record<string, number> }).vocab;
  const vocabSize = Math.max(...Object.values(vocab)) + 1;
  const id = (t: string): number => vocab[t]!;
  const o = opts.configOverrides ?? {};
  const vision = q25
    ? { depth: 3, hidden_act: 'silu', hidden_size: 32, intermediate_size: 48, num_heads: 4, in_chans: 3, out_hidden_size: 64, patch_size: 4, spatial_merge_size: 2, spatial_patch_size: 4, temporal_patch_size: 2, window_size: 16, fullatt_block_indexes: [1], tokens_per_second: 2 }
    : { depth: 2, embed_dim: 32, mlp_ratio: 2, num_heads: 4, in_chans: 3, hidden_size: 64, patch_size: 4, spatial_merge_size: 2, spatial_patch_size: 4, temporal_patch_size: 2 };
  const configJson: Record<string, unknown> = {
    architectures: [q25 ? 'Qwen2_5_VLForConditionalGeneration' : 'Qwen2VLForConditionalGeneration'],
    model_type: variant,
    attention_dropout: 0.0,
    bos_token_id: id('<|endoftext|>'),
    eos_token_id: id('<|im_end|>'),
    vision_start_token_id: id('<|vision_start|>'),
    vision_end_token_id: id('<|vision_end|>'),
    vision_token_id: id('<|vision_pad|>'),
    image_token_id: id('<|image_pad|>'),
    video_token_id: id('<|video_pad|>'),
    hidden_act: 'silu',
    hidden_size: 64,
    initializer_range: 0.02,
    intermediate_size: 128,
    max_position_embeddings: 32768,
    max_window_layers: 2,
    num_attention_heads: 4,
    num_hidden_layers: 2,
    num_key_value_heads: 2,
    rms_norm_eps: 1e-6,
    rope_theta: 1000000.0,
    sliding_window: 32768,
    tie_word_embeddings: true,
    torch_dtype: dtype === 'F16' ? 'float16' : 'float32',
    use_cache: true,
    use_sliding_window: false,
    vision_config: { ...vision, ...o.vision },
    // head_dim 16: 8 frequencies = 2 temporal + 3 height + 3 width (Qwen2-VL-2B: 16 + 24 + 24 of 64)
    rope_scaling: { type: 'mrope', mrope_section: [2, 3, 3] },
    vocab_size: vocabSize,
    ...o.top,
  };
  const config = parseQwen2VLConfig(configJson, 'writeTinyQwen2VL config.json');

  const out = await TinyFiles.create(dir);
  await out.text('config.json', jsonText(configJson));
  const tensors = new Map<string, TensorInput>();
  // One tensor at a time (its own seeded stream), encoded at once: a checkpoint at Qwen2-VL-2B's
  // dimensions never holds its float32 values all together.
  qwen2VLExpectedTensors(config).forEach((e, i) => {
    for (const t of tinyTensors([e], seed * 100_003 + i)) {
      // the vision norms (norm1, norm2, ln_q) near 1, like every other family's norms
      if (/\.(norm1|norm2|ln_q)\.weight$/.test(t.name)) t.values = t.values.map((v) => 1 + (0.1 * v) / Math.sqrt(3));
      tensors.set(qwen2VLDiskName(t.name), { dtype, shape: t.shape, data: encodeFloats(t.values, dtype) });
    }
  });
  await out.safetensors('model.safetensors', tensors);
  await out.text('tokenizer.json', jsonText(tok.tokenizerJson));
  await out.text('tokenizer_config.json', jsonText(tok.tokenizerConfig));
  await out.text('chat_template.json', jsonText({ chat_template: QWEN2_VL_CHAT_TEMPLATE }));
  await out.text('preprocessor_config.json', jsonText({
    min_pixels: minPixels,
    max_pixels: maxPixels,
    patch_size: config.vision.patchSize,
    temporal_patch_size: config.vision.temporalPatchSize,
    merge_size: config.vision.spatialMergeSize,
    image_mean: [0.48145466, 0.4578275, 0.40821073],
    image_std: [0.26862954, 0.26130258, 0.27577711],
    image_processor_type: 'Qwen2VLImageProcessor',
    processor_class: q25 ? 'Qwen2_5_VLProcessor' : 'Qwen2VLProcessor',
  }));
  await out.text('generation_config.json', jsonText({
    bos_token_id: id('<|endoftext|>'),
    eos_token_id: [id('<|im_end|>'), id('<|endoftext|>')],
    pad_token_id: id('<|endoftext|>'),
    do_sample: false,
  }));
  return { dir, config, files: out.files };
}
