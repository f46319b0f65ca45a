// Tiny random-weight LLaVA-NeXT and LLaVA-OneVision checkpoints in the exact Hugging Face layout of
// the llava-hf repos: config.json, model.safetensors with the hub's (legacy) names (or the new ones),
// tokenizer.json + tokenizer_config.json (buildBpeTokenizer), preprocessor_config.json,
// processor_config.json, chat_template.json and generation_config.json.
//
//   writeTinyLlavaNext: llava-v1.6-mistral-7b-hf shaped. CLIP tower (class token, pre-layernorm,
//     quick_gelu) 16 px / patch 4 (a 4 x 4 grid per crop, + CLS), 3 layers of which hidden_states[-2]
//     is taken with strategy 'default'; Mistral decoder (GQA, sliding_window null) with a metaspace
//     byte-fallback tokenizer and '[INST] ... [/INST]' prompts; the vocabulary padded to a multiple of
//     64 (as 32064); the NeXT pinpoints scaled to 16 px crops: 1x2, 2x1, 2x2, 3x1, 1x3 grids.
//   writeTinyLlavaOnevision: llava-onevision-qwen2-0.5b-ov-hf shaped. SigLIP tower 16 px / patch 4
//     (16 features per crop, strategy 'full', vision_feature_layer -1); Qwen2 decoder with tied
//     embeddings, byte-level BPE and ChatML; pinpoints {16, 32, 48}^2 (OneVision's 6 x 6 set at 16 px)
//     and vision_aspect_ratio "anyres_max_2", so an image of 3 or 4 crops is bilinearly pooled.
// Every derived file (preprocessor sizes, pinpoints, processor token counts) follows the final config,
// overrides included, so benchmark-sized variants stay consistent. Weights are seeded per tensor
// (tiny/weights.ts: linear weights variance 1 / fan_in, norms near 1, biases small).
import { encodeFloats, type TensorInput } from '../../safetensors/writer.js';
import { tinyTensors } from '../../tiny/weights.js';
import { buildBpeTokenizer } from '../../tokenizer/bpe-build.js';
import { OPENAI_CLIP_MEAN, OPENAI_CLIP_STD } from '../../image/config.js';
import { parseLlavaNextConfig, type LlavaNextConfig, type LlavaNextModelType } from './config.js';
import { llavaNextExpectedTensors, llavaNextLegacyName } from './weights.js';
import { TinyFiles, jsonText } from '../../tiny/files.js';

export type TinyLlavaNextDType = 'F32' | 'F16' | 'BF16';

export interface TinyLlavaNextOptions {
  seed?: number;
  dtype?: TinyLlavaNextDType;
  /** legacy (default): the hub files' language_model.model.* / vision_tower.* / image_newline; new: model.language_model.*, lm_head.* */
  naming?: 'legacy' | 'new';
  /** Fields merged into config.json's text_config / vision_config / top level (e.g. benchmark sizes, pinpoints, vision_aspect_ratio). */
  configOverrides?: { text?: Record<string, unknown>; vision?: Record<string, unknown>; top?: Record<string, unknown> };
}

export interface TinyLlavaNextCheckpoint {
  dir: string;
  config: LlavaNextConfig;
  /** Every file written, relative to dir, sorted. */
  files: string[];
}

/** The chat template llava-hf ships with llava-v1.6-mistral-7b-hf (chat_template.json), system turn left out. */
export const LLAVA_NEXT_MISTRAL_CHAT_TEMPLATE =
  "{% for message in messages %}{% if message['role'] == 'user' %}{{ '[INST] ' }}" +
  "{% for content in message['content'] | selectattr('type', 'equalto', 'image') %}{{ '<image>\n' }}{% endfor %}" +
  "{% for content in message['content'] | selectattr('type', 'equalto', 'text') %}{{ content['text'] }}{% endfor %}{{ ' [/INST]' }}" +
  "{% elif message['role'] == 'assistant' %}{% for content in message['content'] | selectattr('type', 'equalto', 'text') %}{{ ' ' + content['text'] + '</s>' }}{% endfor %}{% endif %}{% endfor %}";

/** llava-onevision's chat template (chat_template.json of the llava-hf OneVision repos). */
export const LLAVA_ONEVISION_CHAT_TEMPLATE =
  "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n'}}" +
  "{% for content in message['content'] | selectattr('type', 'equalto', 'image') %}{{ '<image>' }}{% endfor %}" +
  "{% for content in message['content'] | selectattr('type', 'equalto', 'video') %}{{ '<video>' }}{% endfor %}" +
  "{% for content in message['content'] | selectattr('type', 'equalto', 'text') %}{{ '\n' + content['text'] }}{% endfor %}" +
  "{{'<|im_end|>\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}";

const NEXT_SPECIALS = ['<unk>', '<s>', '</s>', '<image>'];
const ONEVISION_SPECIALS = ['<|endoftext|>', '<|im_start|>', '<|im_end|>', '<image>', '<video>'];

const NEXT_CORPUS = [
  '[INST] What is shown in this image? [/INST] A red square on a blue ground.',
  '[INST] Describe the picture. [/INST] There is a cat on a mat, and a dog by the door.',
  '[INST] How many boxes are there? [/INST] There are 3 boxes: one green, two yellow.',
  'The image shows a page of text with lines, a box in the corner and a mark in the middle.',
];
const ONEVISION_CORPUS = [
  '<|im_start|>user\nWhat is shown in this image?<|im_end|>\n<|im_start|>assistant\nA red square on a blue ground.<|im_end|>\n',
  '<|im_start|>user\nDescribe the picture.<|im_end|>\n<|im_start|>assistant\nThere is a cat on a mat, and a dog by the door.<|im_end|>\n',
  '<|im_start|>user\nHow many boxes are there?<|im_end|>\n<|im_start|>assistant\nThere are 3 boxes: one green, two yellow.<|im_end|>\n',
  'What color is the sky? The sky is blue. What color is the grass? The grass is green.\n',
];


interface Tok {
  tokenizerJson: Record<string, unknown>;
  tokenizerConfig: Record<string, unknown>;
  id: (t: string) => number;
  size: number;
}

function tinyTokenizer(kind: LlavaNextModelType): Tok {
  const next = kind === 'llava_next';
  const files = buildBpeTokenizer(next
    ? { style: 'metaspace', specialTokens: NEXT_SPECIALS, corpus: NEXT_CORPUS, numMerges: 80, bosToken: '<s>', eosToken: '</s>', unkToken: '<unk>', padToken: '<unk>', addBosToken: true, extraTokenizerConfig: { processor_class: 'LlavaNextProcessor' } }
    : { style: 'byte-level', specialTokens: ONEVISION_SPECIALS, corpus: ONEVISION_CORPUS, numMerges: 120, eosToken: '<|im_end|>', padToken: '<|endoftext|>', extraTokenizerConfig: { processor_class: 'LlavaOnevisionProcessor', model_max_length: 32768 } });
  const vocab = (files.tokenizerJson['model'] as { vocab: Record<string, number> }).vocab;
  return { ...files, id: (t) => vocab[t]!, size: Math.max(...Object.values(vocab)) + 1 };
}

/** Scaled pinpoints: LLaVA-NeXT's five grids, or OneVision's {1..n}^2 crops, at crops of `s` pixels. */
const nextPinpoints = (s: number): number[][] => [[s, 2 * s], [2 * s, s], [2 * s, 2 * s], [3 * s, s], [s, 3 * s]];
const onevisionPinpoints = (s: number, n: number): number[][] => Array.from({ length: n * n }, (_, i) => [s * (Math.floor(i / n) + 1), s * ((i % n) + 1)]);

function tinyConfigJson(kind: LlavaNextModelType, tok: Tok, vocabSize: number): Record<string, unknown> {
  if (kind === 'llava_next') {
    return {
      architectures: ['LlavaNextForConditionalGeneration'],
      model_type: 'llava_next',
      ignore_index: -100,
      image_token_index: tok.id('<image>'),
      image_grid_pinpoints: nextPinpoints(16),
      projector_hidden_act: 'gelu',
      multimodal_projector_bias: true,
      tie_word_embeddings: false,
      torch_dtype: 'float32',
      transformers_version: '4.45.0',
      use_image_newline_parameter: true,
      vision_feature_layer: -2,
      vision_feature_select_strategy: 'default',
      vocab_size: vocabSize,
      pad_token_id: tok.id('<unk>'),
      vision_config: {
        model_type: 'clip_vision_model', hidden_size: 32, intermediate_size: 64, num_hidden_layers: 3, num_attention_heads: 4,
        image_size: 16, patch_size: 4, hidden_act: 'quick_gelu', layer_norm_eps: 1e-5, projection_dim: 32, vocab_size: 32000,
      },
      text_config: {
        model_type: 'mistral', architectures: ['MistralForCausalLM'], vocab_size: vocabSize, hidden_size: 64, intermediate_size: 128,
        num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2, hidden_act: 'silu', max_position_embeddings: 32768,
        rms_norm_eps: 1e-5, rope_theta: 1000000.0, sliding_window: null, tie_word_embeddings: false,
        bos_token_id: tok.id('<s>'), eos_token_id: tok.id('</s>'), torch_dtype: 'float32',
      },
    };
  }
  return {
    architectures: ['LlavaOnevisionForConditionalGeneration'],
    model_type: 'llava_onevision',
    ignore_index: -100,
    image_token_index: tok.id('<image>'),
    video_token_index: tok.id('<video>'),
    image_grid_pinpoints: onevisionPinpoints(16, 3),
    image_seq_length: 16,
    projector_hidden_act: 'gelu',
    multimodal_projector_bias: true,
    tie_word_embeddings: true,
    torch_dtype: 'float32',
    transformers_version: '4.45.0',
    use_image_newline_parameter: true,
    vision_aspect_ratio: 'anyres_max_2',
    vision_feature_layer: -1,
    vision_feature_select_strategy: 'full',
    vision_config: {
      model_type: 'siglip_vision_model', hidden_size: 32, intermediate_size: 64, num_hidden_layers: 2, num_attention_heads: 4,
      image_size: 16, patch_size: 4, hidden_act: 'gelu_pytorch_tanh', layer_norm_eps: 1e-6, vision_use_head: false,
    },
    text_config: {
      model_type: 'qwen2', architectures: ['Qwen2ForCausalLM'], vocab_size: vocabSize, hidden_size: 64, intermediate_size: 128,
      num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2, hidden_act: 'silu', max_position_embeddings: 32768,
      rms_norm_eps: 1e-6, rope_theta: 1000000.0, use_sliding_window: false, sliding_window: 32768, tie_word_embeddings: true,
      bos_token_id: tok.id('<|endoftext|>'), eos_token_id: tok.id('<|im_end|>'), torch_dtype: 'float32',
    },
  };
}

/** preprocessor_config.json of the final config: its crop size and pinpoints. */
function tinyPreprocessorJson(c: LlavaNextConfig): Record<string, unknown> {
  const S = c.vision.imageSize;
  const common = {
    do_convert_rgb: true, do_normalize: true, do_pad: true, do_rescale: true, do_resize: true,
    image_grid_pinpoints: c.imageGridPinpoints, resample: 3, rescale_factor: 0.00392156862745098,
  };
  return c.family === 'llava_next'
    ? {
        ...common, aspect_ratio_setting: 'anyres', crop_size: { height: S, width: S }, do_center_crop: true,
        image_mean: OPENAI_CLIP_MEAN, image_std: OPENAI_CLIP_STD, image_processor_type: 'LlavaNextImageProcessor',
        processor_class: 'LlavaNextProcessor', size: { shortest_edge: S },
      }
    : {
        ...common, image_mean: [0.5, 0.5, 0.5], image_std: [0.5, 0.5, 0.5], image_processor_type: 'LlavaOnevisionImageProcessor',
        processor_class: 'LlavaOnevisionProcessor', size: { height: S, width: S },
      };
}

/** processor_config.json of the final config (the fields the processor's token count reads). */
function tinyProcessorJson(c: LlavaNextConfig): Record<string, unknown> {
  return c.family === 'llava_next'
    ? { image_token: '<image>', num_additional_image_tokens: c.vision.classToken ? 1 : 0, patch_size: c.vision.patchSize, processor_class: 'LlavaNextProcessor', vision_feature_select_strategy: c.visionFeatureSelectStrategy }
    : { image_token: '<image>', num_image_tokens: c.tokensPerCrop, processor_class: 'LlavaOnevisionProcessor', video_token: '<video>', vision_aspect_ratio: c.visionAspectRatio, vision_feature_select_strategy: c.visionFeatureSelectStrategy };
}

async function writeTiny(kind: LlavaNextModelType, dir: string, opts: TinyLlavaNextOptions): Promise<TinyLlavaNextCheckpoint> {
  const { seed = 0, dtype = 'F32', naming = 'legacy' } = opts;
  const tok = tinyTokenizer(kind);
  // Both vocabularies are padded past the tokenizer's (32064 / 152000 rows): a multiple of 64 here.
  const vocabSize = Math.ceil(tok.size / 64) * 64;
  const configJson = tinyConfigJson(kind, tok, vocabSize);
  const o = opts.configOverrides;
  if (o) {
    Object.assign(configJson, o.top ?? {});
    Object.assign(configJson['text_config'] as Record<string, unknown>, o.text ?? {});
    Object.assign(configJson['vision_config'] as Record<string, unknown>, o.vision ?? {});
    // the pinpoints follow a new crop size unless given
    const S = (configJson['vision_config'] as Record<string, unknown>)['image_size'] as number;
    if (o.vision?.['image_size'] !== undefined && o.top?.['image_grid_pinpoints'] === undefined) {
      configJson['image_grid_pinpoints'] = kind === 'llava_next' ? nextPinpoints(S) : onevisionPinpoints(S, 6);
    }
  }
  if (dtype !== 'F32') {
    const torchDtype = dtype === 'F16' ? 'float16' : 'bfloat16';
    configJson['torch_dtype'] = torchDtype;
    (configJson['text_config'] as Record<string, unknown>)['torch_dtype'] = torchDtype;
  }
  const config = parseLlavaNextConfig(configJson, `writeTiny ${kind} config.json`, kind);
  if (kind === 'llava_onevision') configJson['image_seq_length'] = config.tokensPerCrop;

  const tensors = new Map<string, TensorInput>();
  // One tensor at a time, each from its own seeded stream, encoded at once: a benchmark-sized
  // checkpoint (OneVision-0.5B's 0.9 B parameters) never holds all its float32 values together.
  llavaNextExpectedTensors(config).forEach((e, i) => {
    for (const t of tinyTensors([e], seed * 100_003 + i)) {
      tensors.set(naming === 'legacy' ? llavaNextLegacyName(t.name) : t.name, { dtype, shape: t.shape, data: encodeFloats(t.values, dtype) });
    }
  });

  const out = await TinyFiles.create(dir);
  await out.text('config.json', jsonText(configJson));
  await out.safetensors('model.safetensors', tensors);
  await out.text('tokenizer.json', jsonText(tok.tokenizerJson));
  await out.text('tokenizer_config.json', jsonText(tok.tokenizerConfig));
  await out.text('preprocessor_config.json', jsonText(tinyPreprocessorJson(config)));
  await out.text('processor_config.json', jsonText(tinyProcessorJson(config)));
  await out.text('chat_template.json', jsonText({ chat_template: kind === 'llava_next' ? LLAVA_NEXT_MISTRAL_CHAT_TEMPLATE : LLAVA_ONEVISION_CHAT_TEMPLATE }));
  await out.text('generation_config.json', jsonText(kind === 'llava_next'
    ? { _from_model_config: true, bos_token_id: tok.id('<s>'), eos_token_id: tok.id('</s>'), pad_token_id: tok.id('<unk>'), transformers_version: '4.45.0' }
    : { _from_model_config: true, bos_token_id: tok.id('<|endoftext|>'), eos_token_id: tok.id('<|im_end|>'), transformers_version: '4.45.0' }));
  return { dir, config, files: out.files };
}

export const writeTinyLlavaNext = (dir: string, opts: TinyLlavaNextOptions = {}): Promise<TinyLlavaNextCheckpoint> => writeTiny('llava_next', dir, opts);
export const writeTinyLlavaOnevision = (dir: string, opts: TinyLlavaNextOptions = {}): Promise<TinyLlavaNextCheckpoint> => writeTiny('llava_onevision', dir, opts);
