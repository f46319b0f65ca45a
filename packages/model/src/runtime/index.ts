export { LlavaModel, NonFiniteError, type ForwardResult, type GenerateOptions, type GenerateResult, type HeadPatch, type ImageInput, type LoadOptions, type PreparedPrompt, type PromptInput } from './model.js';
export { KvCache } from './kv-cache.js';
export { uploadWeights, type ModelWeights, type WeightDtype } from './weights.js';
export { im2col, imageFeatures } from './vision.js';
export { decoderPass, type DecoderPass, type PassPatch, type PassTap } from './decoder.js';
