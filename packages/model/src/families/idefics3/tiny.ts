// Writes a tiny random-weight SmolVLM-shaped (Idefics3ForConditionalGeneration) checkpoint in the
// exact Hugging Face layout: config.json (idefics3 + idefics3_vision + llama text_config with GQA),
// model.safetensors with the published names (model.vision_model.*, model.connector.*,
// model.text_model.*, lm_head.weight), tokenizer.json + tokenizer_config.json (a byte-level BPE like
// SmolLM2's, with SmolVLM's special tokens and chat template), preprocessor_config.json,
// processor_config.json (image_seq_len) and generation_config.json.
//
// Sizes: 32 x 32 tiles of 8 x 8 patches (4 x 4 grid), scale_factor 2 (4 image tokens per tile), longest
// edge 96 (up to 3 x 3 tiles + the global image), vision hidden 32 x 2 layers, text hidden 64 x 2 layers,
// 4 heads over 2 kv heads. Weights are seeded: one PRNG stream in expected-tensor order, linear weights
// uniform with variance 1 / fan_in, norm weights near 1, biases small.
import { tinyTensors } from '../../tiny/weights.js';
import { encodeFloats, type TensorInput } from '../../safetensors/writer.js';
import { buildBpeTokenizer } from '../../tokenizer/bpe-build.js';
import { parseIdefics3Config, type Idefics3Config } from './config.js';
import { idefics3DiskName, idefics3ExpectedTensors } from './weights.js';
import { TinyFiles, jsonText } from '../../tiny/files.js';

/** SmolVLM's added tokens, in the order the tiny tokenizer gives them ids 0.. */
export const IDEFICS3_TINY_SPECIALS: readonly string[] = [
  '<|endoftext|>',
  '<|im_start|>',
  '<|im_end|>',
  '<fake_token_around_image>',
  '<image>',
  '<end_of_utterance>',
  '<global-img>',
  ...Array.from({ length: 36 }, (_, i) => `<row_${Math.floor(i / 6) + 1}_col_${(i % 6) + 1}>`),
];

/** SmolVLM's chat template (SmolVLMProcessor / the Instruct repos' tokenizer_config). */
export const SMOLVLM_CHAT_TEMPLATE =
  "<|im_start|>{% for message in messages %}{{message['role'] | capitalize}}{% if message['content'][0]['type'] == 'image' %}{{':'}}{% else %}{{': '}}{% endif %}" +
  "{% for line in message['content'] %}{% if line['type'] == 'text' %}{{line['text']}}{% elif line['type'] == 'image' %}{{ '<image>' }}{% endif %}{% endfor %}" +
  "<end_of_utterance>\n{% endfor %}{% if add_generation_prompt %}{{ 'Assistant:' }}{% endif %}";

const TINY_CORPUS: readonly string[] = [
  'User: What is in this image?<end_of_utterance>\nAssistant: A red square on a blue ground.<end_of_utterance>\n',
  'User: Describe the picture.<end_of_utterance>\nAssistant: There is a cat on a mat, and a dog by the door.<end_of_utterance>\n',
  'User: How many boxes are there?<end_of_utterance>\nAssistant: There are 3 boxes: one green, two yellow.<end_of_utterance>\n',
  'The image shows a page of text with lines, a box in the corner and a mark in the middle.\n\n',
  'What color is the sky? The sky is blue. What color is the grass? The grass is green.\n',
];

export type Idefics3TinyDType = 'F32' | 'F16' | 'BF16';

export interface Idefics3TinyOptions {
  seed?: number;
  /** preprocessor_config.json do_image_splitting (default true). */
  doImageSplitting?: boolean;
  dtype?: Idefics3TinyDType;
  /** Fields merged into config.json's text_config / vision_config / top level and preprocessor_config.json. */
  configOverrides?: { text?: Record<string, unknown>; vision?: Record<string, unknown>; top?: Record<string, unknown>; preprocessor?: Record<string, unknown> };
}

export interface Idefics3TinyCheckpoint {
  dir: string;
  config: Idefics3Config;
  /** Every file written, relative to dir, sorted. */
  files: string[];
}


/** The tiny tokenizer files (byte-level BPE, SmolVLM specials) and the id of each special token. */
export function tinyIdefics3Tokenizer(): { tokenizerJson: Record<string, unknown>; tokenizerConfig: Record<string, unknown>; ids: Map<string, number>; size: number } {
  const files = buildBpeTokenizer({
    style: 'byte-level',
    specialTokens: IDEFICS3_TINY_SPECIALS,
    corpus: TINY_CORPUS,
    numMerges: 120,
    bosToken: '<|im_start|>',
    eosToken: '<end_of_utterance>',
    padToken: '<|im_end|>',
    unkToken: '<|endoftext|>',
    chatTemplate: SMOLVLM_CHAT_TEMPLATE,
    extraTokenizerConfig: { processor_class: 'Idefics3Processor', model_max_length: 8192 },
  });
  const vocab = (files.tokenizerJson.model as { vocab: Record<string, number> }).vocab;
  const ids = new Map(IDEFICS3_TINY_SPECIALS.map((t) => [t, vocab[t]!]));
  return { ...files, ids, size: Math.max(...Object.values(vocab)) + 1 };
}

/** The tiny config.json object (before overrides); `vocabSize` is the text vocabulary. */
export function tinyIdefics3ConfigJson(vocabSize: number, ids: ReadonlyMap<string, number>): Record<string, unknown> {
  return {
    architectures: ['Idefics3ForConditionalGeneration'],
    model_type: 'idefics3',
    image_token_id: ids.get('<image>'),
    scale_factor: 2,
    tie_word_embeddings: false,
    torch_dtype: 'float32',
    transformers_version: '4.46.0',
    use_cache: true,
    pad_token_id: ids.get('<|im_end|>'),
    vision_config: {
      model_type: 'idefics3_vision',
      hidden_size: 32,
      intermediate_size: 64,
      num_hidden_layers: 2,
      num_attention_heads: 4,
      num_channels: 3,
      image_size: 32,
      patch_size: 8,
      hidden_act: 'gelu_pytorch_tanh',
      layer_norm_eps: 1e-6,
      attention_dropout: 0.0,
      initializer_range: 0.02,
      max_image_size: { longest_edge: 32 },
      size: { longest_edge: 96 },
      use_base_siglip: false,
      tie_word_embeddings: false,
    },
    text_config: {
      model_type: 'llama',
      architectures: ['VLlama3ForCausalLM'],
      hidden_size: 64,
      intermediate_size: 128,
      num_hidden_layers: 2,
      num_attention_heads: 4,
      num_key_value_heads: 2,
      head_dim: 16,
      hidden_act: 'silu',
      vocab_size: vocabSize,
      max_position_embeddings: 2048,
      rms_norm_eps: 1e-5,
      rope_theta: 100000,
      rope_scaling: null,
      attention_bias: false,
      mlp_bias: false,
      tie_word_embeddings: false,
      bos_token_id: ids.get('<|im_start|>'),
      eos_token_id: ids.get('<end_of_utterance>'),
      pad_token_id: ids.get('<|im_end|>'),
      // SmolVLM's extras: LlamaConfig keeps them, LlamaModel never reads them.
      qk_layer_norms: false,
      rope_interleaved: false,
      use_resampler: false,
      pixel_shuffle_factor: 2,
    },
    // Unused by Idefics3 (a leftover of the Idefics2 config), present in the SmolVLM files.
    perceiver_config: { model_type: 'vllama3', hidden_act: 'silu', resampler_n_latents: 64, resampler_depth: 3, resampler_n_heads: 16, resampler_head_dim: 96, num_key_value_heads: 4, attention_dropout: 0.0 },
  };
}

/** preprocessor_config.json of the tiny model (SmolVLM's, with tiles of `tile` px and a longest edge of 3 tiles). */
export function tinyIdefics3PreprocessorJson(doImageSplitting = true, tile = 32): Record<string, unknown> {
  return {
    do_convert_rgb: true,
    do_image_splitting: doImageSplitting,
    do_normalize: true,
    do_pad: true,
    do_rescale: true,
    do_resize: true,
    image_mean: [0.5, 0.5, 0.5],
    image_processor_type: 'Idefics3ImageProcessor',
    image_std: [0.5, 0.5, 0.5],
    max_image_size: { longest_edge: tile },
    processor_class: 'Idefics3Processor',
    resample: 1,
    rescale_factor: 0.00392156862745098,
    size: { longest_edge: 3 * tile },
  };
}

export async function writeTinyIdefics3(dir: string, opts: Idefics3TinyOptions = {}): Promise<Idefics3TinyCheckpoint> {
  const { seed = 0, doImageSplitting = true, dtype = 'F32' } = opts;
  const tok = tinyIdefics3Tokenizer();
  // SmolVLM pads its vocabulary past the tokenizer's (49280 rows for 49279 + 1 tokens): a multiple of 64 here.
  const vocabSize = Math.ceil(tok.size / 64) * 64;
  const configJson = tinyIdefics3ConfigJson(vocabSize, tok.ids);
  const o = opts.configOverrides;
  if (o) {
    Object.assign(configJson, o.top ?? {});
    Object.assign(configJson['text_config'] as Record<string, unknown>, o.text ?? {});
    Object.assign(configJson['vision_config'] as Record<string, unknown>, o.vision ?? {});
  }
  if (dtype !== 'F32') {
    const torchDtype = dtype === 'F16' ? 'float16' : 'bfloat16';
    configJson['torch_dtype'] = torchDtype;
    (configJson['text_config'] as Record<string, unknown>)['torch_dtype'] = torchDtype;
  }
  const config = parseIdefics3Config(configJson, 'tinyIdefics3ConfigJson');
  // Tiles are the tower's image_size; the longest edge three tiles (so images split up to 3 x 3).
  const tile = config.vision.imageSize;
  const preprocessor = { ...tinyIdefics3PreprocessorJson(doImageSplitting, tile), ...(o?.preprocessor ?? {}) };
  // Tiles follow the preprocessor's max_image_size; vision_config carries SmolVLM's informational copies.
  const vc = configJson['vision_config'] as Record<string, unknown>;
  vc['max_image_size'] = preprocessor['max_image_size'];
  vc['size'] = preprocessor['size'];

  const tensors = new Map<string, TensorInput>();
  for (const t of tinyTensors(idefics3ExpectedTensors(config), seed)) tensors.set(idefics3DiskName(t.name), { dtype, shape: t.shape, data: encodeFloats(t.values, dtype) });

  const out = await TinyFiles.create(dir);
  await out.text('config.json', jsonText(configJson));
  await out.safetensors('model.safetensors', tensors);
  await out.text('tokenizer.json', jsonText(tok.tokenizerJson));
  await out.text('tokenizer_config.json', jsonText(tok.tokenizerConfig));
  await out.text('preprocessor_config.json', jsonText(preprocessor));
  await out.text('processor_config.json', jsonText({ image_seq_len: config.imageSeqLen, processor_class: 'Idefics3Processor' }));
  await out.text(
    'generation_config.json',
    jsonText({
      _from_model_config: true,
      bos_token_id: tok.ids.get('<|im_start|>'),
      eos_token_id: [tok.ids.get('<end_of_utterance>')],
      pad_token_id: tok.ids.get('<|im_end|>'),
      transformers_version: '4.46.0',
    }),
  );
  return { dir, config, files: out.files };
}
