// The Qwen2-VL family (Qwen2VLForConditionalGeneration, model_type qwen2_vl: Qwen2-VL-2B/7B-Instruct;
// Qwen2_5_VLForConditionalGeneration, qwen2_5_vl: Qwen2.5-VL-3B/7B-Instruct): a dynamic-resolution
// ViT with 2-D rotary embeddings over 2x2-merged patches (Qwen2.5-VL: windowed attention, RMSNorm,
// SwiGLU), a Qwen2 decoder with multimodal RoPE. Images only (no video).
import type { ModelFamily } from '../types.js';
import { QWEN2_VL_ARCHITECTURES, QWEN2_VL_MODEL_TYPES, parseQwen2VLConfig, type Qwen2VLConfig } from './config.js';
import { loadQwen2VLProcessor } from './prompt.js';
import { referenceQwen2VLImageFeatures } from './reference.js';
import { qwen2VLRopeIndex } from './rope-index.js';
import { qwen2VLImageFeatures, uploadQwen2VLVision, type Qwen2VLVisionWeights } from './vision.js';
import { qwen2VLCanonicalName, qwen2VLDiskName, qwen2VLExpectedTensors } from './weights.js';

export const qwen2VlFamily: ModelFamily<Qwen2VLConfig, Qwen2VLVisionWeights> = {
  name: 'qwen2_vl',
  modelTypes: QWEN2_VL_MODEL_TYPES,
  architectures: QWEN2_VL_ARCHITECTURES,
  parseConfig: parseQwen2VLConfig,
  canonicalName: qwen2VLCanonicalName,
  diskName: qwen2VLDiskName,
  expectedTensors: qwen2VLExpectedTensors,
  loadProcessor: loadQwen2VLProcessor,
  uploadVision: uploadQwen2VLVision,
  imageFeatures: qwen2VLImageFeatures,
  referenceImageFeatures: referenceQwen2VLImageFeatures,
  ropePositions: (c, ids, grids) => qwen2VLRopeIndex(ids, grids, c.imageTokenIndex, c.visionStartTokenId, c.vision.spatialMergeSize),
};

export { QWEN2_VL_ARCHITECTURES, QWEN2_VL_MODEL_TYPES, parseQwen2VLConfig, type Qwen2VLConfig, type Qwen2VLVariant, type Qwen2VLVisionConfig } from './config.js';
export { flattenQwen2VLImage, parseQwen2VLImageProcessorConfig, preprocessQwen2VL, pyRound, smartResize, type Qwen2VLImageProcessorConfig } from './image-processor.js';
export { Qwen2VLProcessor, expandQwen2VLText, loadQwen2VLProcessor } from './prompt.js';
export { referenceQwen2VLImageFeatures } from './reference.js';
export { qwen2VLRopeIndex, ropeDelta } from './rope-index.js';
export { QWEN2_VL_CHAT_TEMPLATE, QWEN2_VL_SPECIAL_TOKENS, writeTinyQwen2VL, type TinyQwen2VLCheckpoint, type TinyQwen2VLOptions } from './tiny.js';
export { qwen2VLImageFeatures } from './vision.js';
export { qwen2VLWindowIndex, qwen2VLWindowRows, qwen2VLPatchPositions, qwen2VLFrameSegments } from './vision-layout.js';
export { qwen2VLCanonicalName, qwen2VLDiskName, qwen2VLExpectedTensors } from './weights.js';
