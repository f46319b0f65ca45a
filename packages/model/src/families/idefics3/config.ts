// config.json of Idefics3ForConditionalGeneration (SmolVLM-256M/-500M/-Instruct, Idefics3-8B) ->
// Idefics3Config, with the defaults transformers fills in (Idefics3Config, Idefics3VisionConfig,
// LlamaConfig; VLM_FAMILIES.md 1.1).
//
// The vision tower is SigLIP-shaped (no class token, patch bias, no pre-LN) with Idefics3VisionConfig's
// own defaults (hidden 1152, intermediate 3072, 12 layers, 16 heads, image_size 224, patch 32,
// gelu_pytorch_tanh, eps 1e-6). Tiles are square, image_size x image_size, and the connector's pixel
// shuffle packs scale_factor x scale_factor patches into one token, so a tile gives
// imageSeqLen = (image_size // patch)^2 / scale^2 tokens (required to be an integer).
//
// Refused by name rather than ignored: a vision/text model type we do not run, a rope type other than
// default/linear (config/text.ts), use_export_friendly (it changes which frames run), a grid that the
// scale factor does not divide. Ignored exactly as transformers ignores them: perceiver_config (unused
// by Idefics3), vision_config's use_base_siglip / size / max_image_size (read by nobody), and the
// SmolVLM text_config extras (qk_layer_norms, rope_interleaved, use_resampler, pixel_shuffle_factor),
// which LlamaConfig stores and LlamaModel never reads.
import { ConfigError, Fields, isObject } from '../../config/fields.js';
import { parseTextConfig } from '../../config/text.js';
import type { VisionConfig } from '../../config/types.js';
import { parseVisionConfig } from '../../config/vision.js';
import type { ModelConfigBase } from '../types.js';

export const IDEFICS3_MODEL_TYPES: readonly string[] = ['idefics3'];
export const IDEFICS3_ARCHITECTURES: readonly string[] = ['Idefics3ForConditionalGeneration'];

/** Idefics3VisionConfig's defaults (they differ from SiglipVisionConfig's). */
export const IDEFICS3_VISION_DEFAULTS: Readonly<Record<string, unknown>> = {
  hidden_size: 1152,
  intermediate_size: 3072,
  num_hidden_layers: 12,
  num_attention_heads: 16,
  num_channels: 3,
  image_size: 224,
  patch_size: 32,
  hidden_act: 'gelu_pytorch_tanh',
  layer_norm_eps: 1e-6,
};

/** vision_config.model_type values transformers builds an Idefics3VisionConfig from. */
const VISION_MODEL_TYPES = ['idefics3_vision'];

export interface Idefics3Config extends ModelConfigBase {
  family: 'idefics3';
  /** The tower, as a SigLIP-type VisionConfig (modelType 'siglip_vision_model': no class token, patch bias). */
  vision: VisionConfig;
  /** Connector pixel-shuffle factor s: s x s neighbouring patches become one token of width hidden * s^2. */
  scaleFactor: number;
  /** image_size // patch_size: patches per tile side (the "valid" conv drops a remainder). */
  patchesPerSide: number;
  /** Image tokens per tile: patchesPerSide^2 / scaleFactor^2 (Idefics3Model.image_seq_len). */
  imageSeqLen: number;
}

/** Parses an Idefics3 config.json object; `file` names it in errors. */
export function parseIdefics3Config(json: unknown, file = 'config.json'): Idefics3Config {
  if (!isObject(json)) throw new ConfigError(file, '(root)', `expected a JSON object, got ${Array.isArray(json) ? 'an array' : JSON.stringify(json)}`);
  const f = new Fields(file, json);
  if (f.has('model_type') && f.str('model_type', 'idefics3') !== 'idefics3') f.fail('model_type', `unsupported model type ${JSON.stringify(json['model_type'])} (supported: idefics3)`);
  const arch = json['architectures'];
  if (arch !== undefined && arch !== null) {
    if (!Array.isArray(arch) || !arch.some((a) => IDEFICS3_ARCHITECTURES.includes(String(a)))) {
      f.fail('architectures', `unsupported architecture ${JSON.stringify(arch)} (supported: ${IDEFICS3_ARCHITECTURES.join(', ')})`);
    }
  }
  if (f.bool('use_export_friendly', false)) f.fail('use_export_friendly', 'export-friendly mode (no padding-frame detection) is not supported; set it to false');

  // vision_config: Idefics3VisionConfig(**vision_config), the defaults merged under what is written.
  const rawVision = f.sub('vision_config');
  if (rawVision) {
    if (rawVision.has('model_type') && !VISION_MODEL_TYPES.includes(rawVision.str('model_type', ''))) {
      rawVision.fail('model_type', `unsupported vision model type ${JSON.stringify(rawVision.obj['model_type'])} (supported: ${VISION_MODEL_TYPES.join(', ')})`);
    }
    if (rawVision.bool('use_export_friendly', false)) rawVision.fail('use_export_friendly', 'export-friendly mode is not supported; set it to false');
  }
  const visionObj = { ...IDEFICS3_VISION_DEFAULTS, ...(rawVision?.obj ?? {}), model_type: 'siglip_vision_model' };
  const vision = parseVisionConfig(new Fields(file, visionObj, 'vision_config.'), ['siglip_vision_model']);

  // text_config: AutoConfig of its model_type (default llama) with that class's defaults; only a
  // missing text_config gets Idefics3Config's LlamaConfig(rms_norm_eps=1e-5, pad_token_id=128002).
  const rawText = f.sub('text_config');
  const textFields = rawText ?? new Fields(file, { rms_norm_eps: 1e-5, pad_token_id: 128002 }, 'text_config.');
  const { tie: textTie, ...text } = parseTextConfig(textFields, ['llama', 'qwen2', 'mistral'], 'llama');

  const scaleFactor = f.positive('scale_factor', 2);
  const patchesPerSide = Math.floor(vision.imageSize / vision.patchSize);
  if (patchesPerSide % scaleFactor !== 0) {
    f.fail('scale_factor', `${scaleFactor} does not divide the ${patchesPerSide} patches per tile side (vision_config.image_size ${vision.imageSize} // patch_size ${vision.patchSize}); the pixel shuffle needs it to`);
  }
  const imageSeqLen = (patchesPerSide / scaleFactor) ** 2;

  // Every id is looked up in embed_tokens before the image rows are overwritten, so it must be a row.
  const imageTokenIndex = f.int('image_token_id', 128257);
  if (imageTokenIndex >= text.vocabSize) {
    f.fail('image_token_id', `${imageTokenIndex} is outside the language model's vocabulary (text_config.vocab_size ${text.vocabSize})`);
  }

  // Idefics3ForConditionalGeneration ties on the top-level flag (default false); newer transformers
  // also honour the text config's.
  const tieWordEmbeddings = f.has('tie_word_embeddings') ? f.bool('tie_word_embeddings', false) : textTie;
  return { family: 'idefics3', vision, text, imageTokenIndex, tieWordEmbeddings, scaleFactor, patchesPerSide, imageSeqLen };
}
