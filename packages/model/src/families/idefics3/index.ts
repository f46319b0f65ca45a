// The Idefics3 family (Idefics3ForConditionalGeneration: SmolVLM-256M/-500M/-Instruct, Idefics3-8B):
// SigLIP-style tower with Idefics' patch mask and bucketed positions, a pixel-shuffle connector, a
// Llama decoder; the processor tiles each image into max_image_size crops plus a global view.
import type { ModelFamily } from '../types.js';
import { IDEFICS3_ARCHITECTURES, IDEFICS3_MODEL_TYPES, parseIdefics3Config, type Idefics3Config } from './config.js';
import { loadIdefics3Processor } from './prompt.js';
import { referenceIdefics3ImageFeatures } from './reference.js';
import { idefics3ImageFeatures, uploadIdefics3Vision, type Idefics3VisionWeights } from './vision.js';
import { idefics3CanonicalName, idefics3DiskName, idefics3ExpectedTensors } from './weights.js';

export const idefics3Family: ModelFamily<Idefics3Config, Idefics3VisionWeights> = {
  name: 'idefics3',
  modelTypes: IDEFICS3_MODEL_TYPES,
  architectures: IDEFICS3_ARCHITECTURES,
  parseConfig: parseIdefics3Config,
  canonicalName: idefics3CanonicalName,
  diskName: idefics3DiskName,
  expectedTensors: idefics3ExpectedTensors,
  loadProcessor: loadIdefics3Processor,
  uploadVision: uploadIdefics3Vision,
  imageFeatures: idefics3ImageFeatures,
  referenceImageFeatures: referenceIdefics3ImageFeatures,
};

export { IDEFICS3_ARCHITECTURES, IDEFICS3_MODEL_TYPES, parseIdefics3Config, type Idefics3Config } from './config.js';
export { parseIdefics3ImageProcessorConfig, preprocessIdefics3, type Idefics3ImageProcessorConfig } from './image-processor.js';
export { Idefics3Processor, expandIdefics3Text, loadIdefics3Processor } from './prompt.js';
export { referenceIdefics3ImageFeatures } from './reference.js';
export { writeTinyIdefics3, type Idefics3TinyCheckpoint, type Idefics3TinyOptions } from './tiny.js';
export { idefics3ImageFeatures, pixelShuffleRows } from './vision.js';
export { idefics3CanonicalName, idefics3DiskName, idefics3ExpectedTensors } from './weights.js';
