// config.json of LlavaForConditionalGeneration -> LlavaConfig, with the defaults transformers fills in
// (LlavaConfig, CLIPVisionConfig, SiglipVisionConfig, LlamaConfig, Qwen2Config; VLM_FORMATS.md 1.1, 2, 3).
import { ConfigError, Fields, isObject } from '../../config/fields.js';
import { parseTextConfig } from '../../config/text.js';
import { ACTIVATIONS, type Activation, type VisionConfig } from '../../config/types.js';
import { parseVisionConfig } from '../../config/vision.js';
import type { ModelConfigBase } from '../types.js';

export const LLAVA_MODEL_TYPES: readonly string[] = ['llava'];
export const LLAVA_ARCHITECTURES: readonly string[] = ['LlavaForConditionalGeneration'];


/** LlavaConfig's vision tower when `vision_config` is absent: CLIP-L/14 at 336 px. */
const LLAVA_DEFAULT_VISION = { model_type: 'clip_vision_model', intermediate_size: 4096, hidden_size: 1024, patch_size: 14, image_size: 336, num_hidden_layers: 24, num_attention_heads: 16 };

export interface LlavaConfig extends ModelConfigBase {
  family: 'llava';
  vision: VisionConfig;
  projectorHiddenAct: Activation;
  projectorBias: boolean;
  /** As written in config.json (may be negative). */
  visionFeatureLayer: number;
  /** Index into the vision hidden_states tuple (0 = embeddings output, k = output of layer k-1); also the number of layers to run. */
  visionHiddenStateIndex: number;
  visionFeatureSelectStrategy: 'default' | 'full';
  /** Image tokens per image, derived from the tower: numPositions, minus the dropped first token with strategy `default`. */
  imageSeqLength: number;
  /** `image_seq_length` as written in config.json, if any (informational; may be transformers' 576 default). */
  declaredImageSeqLength: number | null;
}

/** Parses a LLaVA config.json object; `file` names it in errors. */
export function parseLlavaConfig(json: unknown, file = 'config.json'): LlavaConfig {
  if (!isObject(json)) throw new ConfigError(file, '(root)', `expected a JSON object, got ${Array.isArray(json) ? 'an array' : JSON.stringify(json)}`);
  const f = new Fields(file, json);
  if (f.has('model_type') && f.str('model_type', 'llava') !== 'llava') f.fail('model_type', `unsupported model type ${JSON.stringify(json['model_type'])} (supported: llava)`);
  const arch = json['architectures'];
  if (arch !== undefined && arch !== null) {
    if (!Array.isArray(arch) || !arch.includes('LlavaForConditionalGeneration')) f.fail('architectures', `unsupported architecture ${JSON.stringify(arch)} (supported: LlavaForConditionalGeneration)`);
  }
  const vision = parseVisionConfig(f.sub('vision_config') ?? new Fields(file, LLAVA_DEFAULT_VISION, 'vision_config.'));
  const { tie: textTie, ...text } = parseTextConfig(f.sub('text_config') ?? new Fields(file, {}, 'text_config.'));

  const vfl = json['vision_feature_layer'] ?? -2;
  if (Array.isArray(vfl)) f.fail('vision_feature_layer', `a list of layers (${JSON.stringify(vfl)}) is not supported; give one integer`);
  const visionFeatureLayer = f.int('vision_feature_layer', -2, -Infinity);
  const nStates = vision.numLayers + 1; // hidden_states = embeddings output + one per layer
  if (visionFeatureLayer < -nStates || visionFeatureLayer >= nStates) {
    f.fail('vision_feature_layer', `${visionFeatureLayer} is outside the ${nStates} vision hidden states (-${nStates}..${nStates - 1})`);
  }
  const visionHiddenStateIndex = visionFeatureLayer < 0 ? nStates + visionFeatureLayer : visionFeatureLayer;
  const strategy = f.oneOf<'default' | 'full'>('vision_feature_select_strategy', 'default', ['default', 'full']);

  // image_token_id is LlavaConfig's alias of image_token_index.
  const imageKey = f.has('image_token_index') ? 'image_token_index' : 'image_token_id';
  // May lie outside the vocabulary (LlavaConfig() itself pairs 32000 with Llama's 32000 tokens): image
  // positions are overwritten by features, never looked up.
  const imageTokenIndex = f.int(imageKey, 32000);
  if (imageTokenIndex > text.vocabSize) {
    f.fail(imageKey, `${imageTokenIndex} is outside the language model's vocabulary (text_config.vocab_size ${text.vocabSize}: ids 0..${text.vocabSize - 1}, or ${text.vocabSize} for an image token appended after it)`);
  }

  // The tower fixes the image token count. transformers' image_seq_length default (576) is right only for
  // CLIP-336/14 and newer versions save it regardless, so a declared value is kept for reference only.
  const imageSeqLength = vision.numPositions - (strategy === 'default' ? 1 : 0);
  const declaredImageSeqLength = f.intOrNull('image_seq_length', null);

  return {
    family: 'llava',
    vision,
    text,
    imageTokenIndex,
    projectorHiddenAct: f.oneOf('projector_hidden_act', 'gelu', ACTIVATIONS),
    projectorBias: f.bool('multimodal_projector_bias', true),
    visionFeatureLayer,
    visionHiddenStateIndex,
    visionFeatureSelectStrategy: strategy,
    imageSeqLength,
    declaredImageSeqLength,
    tieWordEmbeddings: f.bool('tie_word_embeddings', false) || textTie,
    defaulted: { text: f.sub('text_config') === null, vision: f.sub('vision_config') === null },
  };
}
