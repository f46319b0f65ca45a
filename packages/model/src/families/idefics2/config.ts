// config.json of Idefics2ForConditionalGeneration -> Idefics2Config, with the defaults transformers
// fills in (Idefics2Config, Idefics2VisionConfig, Idefics2PerceiverConfig, MistralConfig;
// VLM_FAMILIES.md 2.1). Fields whose values we cannot run are refused by name, never ignored.
import { ConfigError, Fields, isObject } from '../../config/fields.js';
import { parseTextConfig } from '../../config/text.js';
import { ACTIVATIONS, type Activation, type VisionConfig } from '../../config/types.js';
import { parseVisionConfig } from '../../config/vision.js';
import type { ModelConfigBase } from '../types.js';

export const IDEFICS2_MODEL_TYPES: readonly string[] = ['idefics2'];
export const IDEFICS2_ARCHITECTURES: readonly string[] = ['Idefics2ForConditionalGeneration'];

/** vision_config / perceiver_config `model_type` values transformers writes (old checkpoints: "idefics2"). */
const VISION_MODEL_TYPES = ['idefics2_vision', 'idefics2'];
const PERCEIVER_MODEL_TYPES = ['idefics2_perceiver', 'idefics2'];
const TEXT_MODEL_TYPES = ['mistral', 'llama'] as const;

export interface Idefics2PerceiverConfig {
  /** Always the text hidden size (transformers overwrites a differing one, see parsePerceiver). */
  hiddenSize: number;
  hiddenAct: Activation;
  rmsNormEps: number;
  nLatents: number;
  depth: number;
  numHeads: number;
  headDim: number;
  numKvHeads: number;
  /** The perceiver MLP's width: hidden_size * 4 (Idefics2PerceiverLayer). */
  intermediateSize: number;
  /** hidden_size and rms_norm_eps were overwritten from text_config because the hidden sizes differed. */
  fromText: boolean;
}

export interface Idefics2Config extends ModelConfigBase {
  family: 'idefics2';
  /** The Idefics2 SigLIP tower: no class token, patch bias, no pre-layernorm, post_layernorm used. */
  vision: VisionConfig;
  /** image_size // patch_size: the side of the position-embedding grid the patch positions are bucketed into. */
  numPatchesPerSide: number;
  perceiver: Idefics2PerceiverConfig;
  /** `<image>` tokens per frame: the perceiver's resampler_n_latents. */
  imageSeqLen: number;
  /** Sub-configs absent from config.json, filled with the class defaults. */
  defaulted: { vision: boolean; perceiver: boolean; text: boolean };
}

/** Idefics2Config's text_config when absent: MistralConfig with these overrides. */
const DEFAULT_TEXT = { model_type: 'mistral', max_position_embeddings: 4096 * 8, rms_norm_eps: 1e-5, pad_token_id: 0, tie_word_embeddings: false };

function checkModelType(f: Fields, allowed: readonly string[]): void {
  if (!f.has('model_type')) return;
  const t = f.str('model_type', '');
  if (!allowed.includes(t)) f.fail('model_type', `unsupported model type ${JSON.stringify(t)} (supported: ${allowed.join(', ')})`);
}

/** Idefics2VisionConfig: SigLIP's defaults except patch_size 32. */
function parseIdefics2Vision(f: Fields): VisionConfig {
  checkModelType(f, VISION_MODEL_TYPES);
  // parseVisionConfig knows the tower as siglip_vision_model; the errors keep the vision_config. path.
  return parseVisionConfig(new Fields(f.file, { patch_size: 32, ...f.obj, model_type: 'siglip_vision_model' }, f.prefix), ['siglip_vision_model']);
}

function parsePerceiver(f: Fields, textHidden: number, textEps: number): Idefics2PerceiverConfig {
  checkModelType(f, PERCEIVER_MODEL_TYPES);
  // A pre-release field (qk norms in the resampler) that released transformers never builds.
  if (f.has('qk_layer_norms_perceiver') && f.bool('qk_layer_norms_perceiver', false)) {
    f.fail('qk_layer_norms_perceiver', 'q/k layer norms in the perceiver are not implemented (transformers does not build them either)');
  }
  const numHeads = f.positive('resampler_n_heads', 16);
  const numKvHeads = f.positive('num_key_value_heads', 4);
  if (numKvHeads > numHeads) f.fail('num_key_value_heads', `${numKvHeads} must be at most resampler_n_heads ${numHeads}`);
  if (numHeads % numKvHeads !== 0) f.fail('num_key_value_heads', `${numKvHeads} kv heads do not divide ${numHeads} heads`);
  const ownHidden = f.positive('hidden_size', 4096);
  const ownEps = f.num('rms_norm_eps', 1e-6);
  // Idefics2Config.__init__: when text and perceiver hidden sizes differ, both hidden_size and
  // rms_norm_eps come from text_config; when equal, the perceiver keeps its own eps (1e-6 by default,
  // while Idefics2's default text model uses 1e-5).
  const fromText = ownHidden !== textHidden;
  const hiddenSize = fromText ? textHidden : ownHidden;
  return {
    hiddenSize,
    hiddenAct: f.oneOf('hidden_act', 'silu', ACTIVATIONS),
    rmsNormEps: fromText ? textEps : ownEps,
    nLatents: f.positive('resampler_n_latents', 64),
    depth: f.positive('resampler_depth', 3),
    numHeads,
    headDim: f.positive('resampler_head_dim', 96),
    numKvHeads,
    intermediateSize: hiddenSize * 4,
    fromText,
  };
}

/** Parses an Idefics2 config.json object; `file` names it in errors. */
export function parseIdefics2Config(json: unknown, file = 'config.json'): Idefics2Config {
  if (!isObject(json)) throw new ConfigError(file, '(root)', `expected a JSON object, got ${Array.isArray(json) ? 'an array' : JSON.stringify(json)}`);
  const f = new Fields(file, json);
  if (f.has('model_type') && !IDEFICS2_MODEL_TYPES.includes(f.str('model_type', ''))) {
    f.fail('model_type', `unsupported model type ${JSON.stringify(json['model_type'])} (supported: ${IDEFICS2_MODEL_TYPES.join(', ')})`);
  }
  const arch = json['architectures'];
  if (arch !== undefined && arch !== null) {
    if (!Array.isArray(arch) || !arch.some((a) => IDEFICS2_ARCHITECTURES.includes(a as string))) {
      f.fail('architectures', `unsupported architecture ${JSON.stringify(arch)} (supported: ${IDEFICS2_ARCHITECTURES.join(', ')})`);
    }
  }
  const visionF = f.sub('vision_config');
  const perceiverF = f.sub('perceiver_config');
  const textF = f.sub('text_config');
  const vision = parseIdefics2Vision(visionF ?? new Fields(file, {}, 'vision_config.'));
  const textFields = textF ?? new Fields(file, DEFAULT_TEXT, 'text_config.');
  // AutoConfig: a text_config without model_type is a MistralConfig.
  const { tie: textTie, ...text } = parseTextConfig(textFields, TEXT_MODEL_TYPES, 'mistral');
  const perceiver = parsePerceiver(perceiverF ?? new Fields(file, {}, 'perceiver_config.'), text.hiddenSize, text.rmsNormEps);

  // The image token is looked up in embed_tokens before its rows are replaced, so it must be a vocabulary id.
  const imageTokenIndex = f.int('image_token_id', 32001);
  if (imageTokenIndex >= text.vocabSize) f.fail('image_token_id', `${imageTokenIndex} is outside the language model's vocabulary (text_config.vocab_size ${text.vocabSize})`);

  return {
    family: 'idefics2',
    vision,
    numPatchesPerSide: Math.floor(vision.imageSize / vision.patchSize),
    perceiver,
    text,
    imageTokenIndex,
    imageSeqLen: perceiver.nLatents,
    // As for LLaVA: the top-level flag, or text_config's as newer transformers reads it.
    tieWordEmbeddings: f.bool('tie_word_embeddings', false) || textTie,
    defaulted: { vision: visionF === null, perceiver: perceiverF === null, text: textF === null },
  };
}
