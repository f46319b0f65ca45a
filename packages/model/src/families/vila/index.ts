// The VILA-1.5 family (NVlabs VILA, model_type llava_llama / LlavaLlamaModel: VILA1.5-3b,
// Llama-3-VILA1.5-8B): a checkpoint in three sub-folders (llm/, vision_tower/, mm_projector/), a SigLIP
// tower read at hidden_states[-2], the mlp_downsample projector (2x2 token merge), a Llama decoder.
import type { ModelFamily } from '../types.js';
import { VILA_ARCHITECTURES, VILA_MODEL_TYPES, parseVilaConfig, type VilaConfig } from './config.js';
import { VilaProcessor } from './processor.js';
import { referenceVilaImageFeatures } from './reference.js';
import { uploadVilaVision, vilaImageFeatures, type VilaVisionWeights } from './vision.js';
import { VILA_LAYOUT, vilaCanonicalName, vilaDiskName, vilaExpectedTensors } from './weights.js';

export const vilaFamily: ModelFamily<VilaConfig, VilaVisionWeights> = {
  name: 'vila',
  modelTypes: VILA_MODEL_TYPES,
  architectures: VILA_ARCHITECTURES,
  parseConfig: parseVilaConfig,
  shardPrefixes: () => VILA_LAYOUT,
  canonicalName: vilaCanonicalName,
  diskName: vilaDiskName,
  expectedTensors: vilaExpectedTensors,
  loadProcessor: (dir, config, tokenizer) => VilaProcessor.load(dir, config, tokenizer),
  uploadVision: uploadVilaVision,
  imageFeatures: vilaImageFeatures,
  referenceImageFeatures: referenceVilaImageFeatures,
};

export { VILA_ARCHITECTURES, VILA_MODEL_TYPES, parseVilaConfig, type VilaAspectRatio, type VilaConfig, type VilaProjector } from './config.js';
export { VILA_IMAGE_TOKEN, VilaProcessor, expandToSquare, vilaPixels, vilaPromptText, vilaTemplateFor, vilaTokenize, type VilaTemplate } from './processor.js';
export { referenceDownSample, referenceVilaImageFeatures, referenceVilaProjector, referenceVilaVisionFeatures } from './reference.js';
export { TINY_VILA_SPECIAL_TOKENS, writeTinyVila, type TinyVilaCheckpoint, type TinyVilaOptions } from './tiny.js';
export { downsampleGatherRows, uploadVilaVision, vilaImageFeatures, type VilaVisionWeights } from './vision.js';
export { VILA_LAYOUT, VILA_PROJECTOR_PREFIX, VILA_VISION_PREFIX, vilaCanonicalName, vilaDiskName, vilaExpectedTensors, vilaProjectorTensors, vilaStorage } from './weights.js';
