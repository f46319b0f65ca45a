// The LLaVA family (LlavaForConditionalGeneration: llava-1.5, llava-interleave, ...): CLIP or SigLIP
// tower, a two-layer projector, a Llama or Qwen2 decoder.
import type { ModelFamily } from '../types.js';
import { LLAVA_ARCHITECTURES, LLAVA_MODEL_TYPES, parseLlavaConfig, type LlavaConfig } from './config.js';
import { LlavaProcessor } from './processor.js';
import { referenceLlavaImageFeatures } from './reference.js';
import { llavaImageFeatures, uploadLlavaVision, type LlavaVisionWeights } from './vision.js';
import { canonicalName, legacyName, llavaExpectedTensors } from './weights.js';

export const llavaFamily: ModelFamily<LlavaConfig, LlavaVisionWeights> = {
  name: 'llava',
  modelTypes: LLAVA_MODEL_TYPES,
  architectures: LLAVA_ARCHITECTURES,
  parseConfig: parseLlavaConfig,
  canonicalName,
  diskName: legacyName,
  expectedTensors: llavaExpectedTensors,
  loadProcessor: (dir, config, tokenizer) => LlavaProcessor.load(dir, config, tokenizer),
  uploadVision: uploadLlavaVision,
  imageFeatures: llavaImageFeatures,
  referenceImageFeatures: referenceLlavaImageFeatures,
};

export { LLAVA_ARCHITECTURES, LLAVA_MODEL_TYPES, parseLlavaConfig, type LlavaConfig } from './config.js';
export { LlavaProcessor } from './processor.js';
export { referenceImageFeatures, referenceLlavaImageFeatures, referenceVisionFeatures, referenceVisionHiddenStates } from './reference.js';
export { im2col, llavaImageFeatures, uploadLlavaVision, type LlavaVisionWeights } from './vision.js';
export { PROJECTOR_PREFIX, VISION_PREFIX, canonicalName, legacyName, llavaExpectedTensors } from './weights.js';
export { TINY_FAMILIES, TINY_WORDS, tinyConfigJson, tinyPreprocessorJson, tinyProcessorJson, tinySpecials, tinyVocab, type TinyFamily, type TinySpecials } from './tiny-presets.js';
export { writeTinyCheckpoint, type TinyCheckpoint, type TinyDType, type TinyNaming, type TinyOptions } from './tiny.js';
