export { VisionLanguageModel, loadModel, NonFiniteError, type ForwardResult, type GenerateOptions, type GenerateResult, type HeadPatch, type ImageInput, type LoadOptions, type PixelBatch, type PreparedPrompt, type PromptInput } from './model.js';
export { KvCache } from './kv-cache.js';
export { uploadWeights, type ModelWeights, type WeightDtype } from './weights.js';
export { uploadVitLayers, vitLayer, type VitAttention, type VitLayerWeights } from './vit.js';
export { decoderPass, type DecoderPass, type PassPatch, type PassTap } from './decoder.js';
