// The Idefics2 family (Idefics2ForConditionalGeneration: idefics2-8b): the Idefics SigLIP tower, a
// SwiGLU projection and a perceiver resampler (n_latents tokens per frame), a Mistral decoder.
import type { ModelFamily } from '../types.js';
import { IDEFICS2_ARCHITECTURES, IDEFICS2_MODEL_TYPES, parseIdefics2Config, type Idefics2Config } from './config.js';
import { loadIdefics2Processor } from './prompt.js';
import { referenceIdefics2ImageFeatures } from './reference.js';
import { idefics2ImageFeatures, uploadIdefics2Vision, type Idefics2VisionWeights } from './vision.js';
import { idefics2CanonicalName, idefics2DiskName, idefics2ExpectedTensors } from './weights.js';

export const idefics2Family: ModelFamily<Idefics2Config, Idefics2VisionWeights> = {
  name: 'idefics2',
  modelTypes: IDEFICS2_MODEL_TYPES,
  architectures: IDEFICS2_ARCHITECTURES,
  parseConfig: parseIdefics2Config,
  canonicalName: idefics2CanonicalName,
  diskName: idefics2DiskName,
  expectedTensors: idefics2ExpectedTensors,
  loadProcessor: loadIdefics2Processor,
  uploadVision: uploadIdefics2Vision,
  imageFeatures: idefics2ImageFeatures,
  referenceImageFeatures: referenceIdefics2ImageFeatures,
};

export { IDEFICS2_ARCHITECTURES, IDEFICS2_MODEL_TYPES, parseIdefics2Config, type Idefics2Config } from './config.js';
export { loadIdefics2Processor } from './prompt.js';
export { referenceIdefics2ImageFeatures } from './reference.js';
export { writeTinyIdefics2, type TinyIdefics2Checkpoint, type TinyIdefics2Options } from './tiny.js';
export { idefics2ImageFeatures } from './vision.js';
export { idefics2CanonicalName, idefics2DiskName, idefics2ExpectedTensors } from './weights.js';
