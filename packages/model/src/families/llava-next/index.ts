// The LLaVA-NeXT (LlavaNextForConditionalGeneration: llava-v1.6-*) and LLaVA-OneVision
// (LlavaOnevisionForConditionalGeneration: llava-onevision-qwen2-*) families: the LLaVA tower and
// projector on every anyres crop, the crops' features packed into one unpadded grid with a newline
// per row (OneVision: bilinearly pooled above its crop budget), then a Llama / Mistral / Qwen2 decoder.
import type { ModelFamily } from '../types.js';
import {
  LLAVA_NEXT_ARCHITECTURES, LLAVA_NEXT_MODEL_TYPES, LLAVA_ONEVISION_ARCHITECTURES, LLAVA_ONEVISION_MODEL_TYPES,
  parseLlavaNextOnlyConfig, parseLlavaOnevisionConfig, type LlavaNextConfig,
} from './config.js';
import { loadLlavaNextProcessor } from './prompt.js';
import { referenceLlavaNextImageFeatures } from './reference.js';
import { llavaNextImageFeatures, uploadLlavaNextVision, type LlavaNextVisionWeights } from './vision.js';
import { llavaNextCanonicalName, llavaNextExpectedTensors, llavaNextLegacyName } from './weights.js';

const shared = {
  canonicalName: llavaNextCanonicalName,
  diskName: llavaNextLegacyName,
  expectedTensors: llavaNextExpectedTensors,
  loadProcessor: loadLlavaNextProcessor,
  uploadVision: uploadLlavaNextVision,
  imageFeatures: llavaNextImageFeatures,
  referenceImageFeatures: referenceLlavaNextImageFeatures,
} satisfies Partial<ModelFamily<LlavaNextConfig, LlavaNextVisionWeights>>;

export const llavaNextFamily: ModelFamily<LlavaNextConfig, LlavaNextVisionWeights> = {
  name: 'llava_next',
  modelTypes: LLAVA_NEXT_MODEL_TYPES,
  architectures: LLAVA_NEXT_ARCHITECTURES,
  parseConfig: parseLlavaNextOnlyConfig,
  ...shared,
};

export const llavaOnevisionFamily: ModelFamily<LlavaNextConfig, LlavaNextVisionWeights> = {
  name: 'llava_onevision',
  modelTypes: LLAVA_ONEVISION_MODEL_TYPES,
  architectures: LLAVA_ONEVISION_ARCHITECTURES,
  parseConfig: parseLlavaOnevisionConfig,
  ...shared,
};

export {
  anyresLayout, anyresTileCount, bilinearTaps, patchOutputSize, pooledSize, pyFloorDiv, pyIntRound7, selectBestResolution, unpadRegion,
  type AnyresGeometry, type AnyresImage, type AnyresLayout, type BilinearTap,
} from './anyres.js';
export {
  LLAVA_NEXT_ARCHITECTURES, LLAVA_NEXT_DEFAULT_PINPOINTS, LLAVA_NEXT_MODEL_TYPES, LLAVA_ONEVISION_ARCHITECTURES, LLAVA_ONEVISION_DEFAULT_ASPECT_RATIO,
  LLAVA_ONEVISION_DEFAULT_PINPOINTS, LLAVA_ONEVISION_MODEL_TYPES, parseLlavaNextConfig, towerConfig, type LlavaNextConfig, type LlavaNextModelType,
} from './config.js';
export {
  anyresCrops, loadAnyresImageProcessorConfig, padToSquare, parseAnyresImageProcessorConfig, preprocessAnyres, processedCropSize,
  LLAVA_NEXT_IMAGE_PROCESSOR_TYPES, LLAVA_ONEVISION_IMAGE_PROCESSOR_TYPES, type AnyresImageProcessorConfig,
} from './image-processor.js';
export {
  LLAVA_NEXT_IMAGE_TOKEN, LlavaNextProcessor, anyresImageTokens, anyresTokenRule, expandAnyresText, loadLlavaNextProcessor, unpaddedFeatures,
  type AnyresTokenRule, type OnevisionImages,
} from './prompt.js';
export { referenceLlavaNextImageFeatures, referencePackImageFeatures } from './reference.js';
export {
  LLAVA_NEXT_MISTRAL_CHAT_TEMPLATE, LLAVA_ONEVISION_CHAT_TEMPLATE, writeTinyLlavaNext, writeTinyLlavaOnevision,
  type TinyLlavaNextCheckpoint, type TinyLlavaNextDType, type TinyLlavaNextOptions,
} from './tiny.js';
export { llavaNextImageFeatures, uploadLlavaNextVision, type LlavaNextVisionWeights } from './vision.js';
export { IMAGE_NEWLINE, llavaNextCanonicalName, llavaNextExpectedTensors, llavaNextLegacyName } from './weights.js';
