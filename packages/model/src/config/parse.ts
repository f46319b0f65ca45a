// config.json of LlavaForConditionalGeneration -> LlavaConfig, with the defaults transformers fills in
// (LlavaConfig, CLIPVisionConfig, SiglipVisionConfig, LlamaConfig, Qwen2Config; VLM_FORMATS.md 1.1, 2, 3).
import { ConfigError, Fields, isObject } from './fields.js';
import { ACTIVATIONS, type LlavaConfig, type RopeConfig, type TextConfig, type TextModelType, type VisionConfig, type VisionModelType } from './types.js';

interface VisionDefaults {
  hidden_size: number;
  intermediate_size: number;
  num_hidden_layers: number;
  num_attention_heads: number;
  num_channels: number;
  image_size: number;
  patch_size: number;
  hidden_act: 'quick_gelu' | 'gelu_pytorch_tanh';
  layer_norm_eps: number;
}

const VISION_DEFAULTS: Record<VisionModelType, VisionDefaults> = {
  clip_vision_model: { hidden_size: 768, intermediate_size: 3072, num_hidden_layers: 12, num_attention_heads: 12, num_channels: 3, image_size: 224, patch_size: 32, hidden_act: 'quick_gelu', layer_norm_eps: 1e-5 },
  siglip_vision_model: { hidden_size: 768, intermediate_size: 3072, num_hidden_layers: 12, num_attention_heads: 12, num_channels: 3, image_size: 224, patch_size: 16, hidden_act: 'gelu_pytorch_tanh', layer_norm_eps: 1e-6 },
};

/** LlavaConfig's vision tower when `vision_config` is absent: CLIP-L/14 at 336 px. */
const LLAVA_DEFAULT_VISION = { model_type: 'clip_vision_model', intermediate_size: 4096, hidden_size: 1024, patch_size: 14, image_size: 336, num_hidden_layers: 24, num_attention_heads: 16 };

const TEXT_DEFAULTS: Record<TextModelType, { vocab_size: number; intermediate_size: number; max_position_embeddings: number; bos: number | null; eos: number | null; kv: number | null }> = {
  // LlamaConfig: num_key_value_heads None -> num_attention_heads.
  llama: { vocab_size: 32000, intermediate_size: 11008, max_position_embeddings: 2048, bos: 1, eos: 2, kv: null },
  // Qwen2Config: num_key_value_heads defaults to 32 (None only when given explicitly as null).
  qwen2: { vocab_size: 151936, intermediate_size: 22016, max_position_embeddings: 32768, bos: null, eos: null, kv: 32 },
};

function parseVision(f: Fields): VisionConfig {
  const modelType = f.oneOf<VisionModelType>('model_type', 'clip_vision_model', ['clip_vision_model', 'siglip_vision_model']);
  const d = VISION_DEFAULTS[modelType];
  const hiddenSize = f.positive('hidden_size', d.hidden_size);
  const numHeads = f.positive('num_attention_heads', d.num_attention_heads);
  if (hiddenSize % numHeads !== 0) f.fail('num_attention_heads', `hidden_size ${hiddenSize} is not divisible by ${numHeads} heads`);
  const imageSize = f.positive('image_size', d.image_size);
  const patchSize = f.positive('patch_size', d.patch_size);
  if (patchSize > imageSize) f.fail('patch_size', `patch ${patchSize} is larger than image_size ${imageSize}`);
  const clip = modelType === 'clip_vision_model';
  const numPatches = Math.floor(imageSize / patchSize) ** 2;
  return {
    modelType,
    hiddenSize,
    intermediateSize: f.positive('intermediate_size', d.intermediate_size),
    numLayers: f.positive('num_hidden_layers', d.num_hidden_layers),
    numHeads,
    headDim: hiddenSize / numHeads,
    numChannels: f.positive('num_channels', d.num_channels),
    imageSize,
    patchSize,
    hiddenAct: f.oneOf('hidden_act', d.hidden_act, ACTIVATIONS),
    layerNormEps: f.num('layer_norm_eps', d.layer_norm_eps),
    numPatches,
    numPositions: numPatches + (clip ? 1 : 0),
    classToken: clip,
    preLayerNorm: clip,
    patchBias: !clip,
  };
}

/** rope_theta and rope type from the v5 `rope_parameters`, or the v4 `rope_theta` + `rope_scaling`. */
function parseRope(f: Fields): RopeConfig {
  const params = f.sub('rope_parameters');
  const scaling = f.sub('rope_scaling');
  const theta = params?.has('rope_theta') ? params.num('rope_theta', 10000) : f.num('rope_theta', 10000);
  const src = params ?? scaling;
  if (!src) return { theta, type: 'default', factor: 1 };
  const typeKey = src.has('rope_type') ? 'rope_type' : 'type';
  const raw = src.str(typeKey, 'default');
  if (raw !== 'default' && raw !== 'linear') src.fail(typeKey, `rope type ${JSON.stringify(raw)} is not supported (supported: default, linear)`);
  const type = raw as RopeConfig['type'];
  const factor = type === 'linear' && src.has('factor') ? src.num('factor', 1) : type === 'linear' ? NaN : 1;
  if (!(factor > 0)) src.fail('factor', `linear rope scaling needs a positive factor, got ${JSON.stringify(src.obj['factor'])}`);
  return { theta, type, factor };
}

function parseText(f: Fields): TextConfig & { tie: boolean } {
  const modelType = f.oneOf<TextModelType>('model_type', 'llama', ['llama', 'qwen2']);
  const d = TEXT_DEFAULTS[modelType];
  const hiddenSize = f.positive('hidden_size', 4096);
  const numHeads = f.positive('num_attention_heads', 32);
  const kvRaw = f.obj['num_key_value_heads'] === undefined ? d.kv : f.obj['num_key_value_heads'];
  const numKvHeads = kvRaw === null ? numHeads : f.positive('num_key_value_heads', kvRaw as number);
  if (numHeads % numKvHeads !== 0) f.fail('num_key_value_heads', `${numKvHeads} kv heads do not divide ${numHeads} attention heads`);
  if (!f.has('head_dim') && hiddenSize % numHeads !== 0) f.fail('num_attention_heads', `hidden_size ${hiddenSize} is not divisible by ${numHeads} heads and no head_dim is given`);
  const headDim = f.has('head_dim') ? f.positive('head_dim', 0) : hiddenSize / numHeads;
  if (headDim % 2 !== 0) f.fail('head_dim', `head_dim ${headDim} must be even for rotary embeddings`);
  if (modelType === 'qwen2' && f.bool('use_sliding_window', false)) f.fail('use_sliding_window', 'sliding-window attention is not supported');
  const attentionBias = modelType === 'llama' && f.bool('attention_bias', false);
  return {
    modelType,
    vocabSize: f.positive('vocab_size', d.vocab_size),
    hiddenSize,
    intermediateSize: f.positive('intermediate_size', d.intermediate_size),
    numLayers: f.positive('num_hidden_layers', 32),
    numHeads,
    numKvHeads,
    headDim,
    hiddenAct: f.oneOf('hidden_act', 'silu', ACTIVATIONS),
    rmsNormEps: f.num('rms_norm_eps', 1e-6),
    rope: parseRope(f),
    maxPositionEmbeddings: f.positive('max_position_embeddings', d.max_position_embeddings),
    qkvBias: modelType === 'qwen2' || attentionBias,
    oBias: attentionBias,
    mlpBias: modelType === 'llama' && f.bool('mlp_bias', false),
    bosTokenId: f.intOrNull('bos_token_id', d.bos),
    eosTokenId: f.intsOrNull('eos_token_id', d.eos),
    padTokenId: f.intOrNull('pad_token_id', null),
    tie: f.bool('tie_word_embeddings', false),
  };
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
  const vision = parseVision(f.sub('vision_config') ?? new Fields(file, LLAVA_DEFAULT_VISION, 'vision_config.'));
  const { tie: textTie, ...text } = parseText(f.sub('text_config') ?? new Fields(file, {}, 'text_config.'));

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
