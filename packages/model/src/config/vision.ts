// vision_config of a CLIP or SigLIP tower -> VisionConfig, with the defaults of transformers'
// CLIPVisionConfig / SiglipVisionConfig (VLM_FORMATS.md 2). Shared by every family whose tower is one of them.
import { Fields } from './fields.js';
import { ACTIVATIONS, type VisionConfig, type VisionModelType } from './types.js';

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


/** A CLIP or SigLIP vision_config; `modelTypes` limits the towers a family accepts. */
export function parseVisionConfig(f: Fields, modelTypes: readonly VisionModelType[] = ['clip_vision_model', 'siglip_vision_model']): VisionConfig {
  const modelType = f.oneOf<VisionModelType>('model_type', modelTypes[0]!, modelTypes);
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
