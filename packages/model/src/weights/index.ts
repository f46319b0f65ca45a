export { Checkpoint, CheckpointError, INDEX_FILE, SINGLE_FILE, openCheckpoint } from './checkpoint.js';
export { expectedTensors, type ExpectedTensor } from './expected.js';
export { LM_HEAD, PROJECTOR_PREFIX, TEXT_PREFIX, VISION_PREFIX, canonicalName, isIgnoredName, legacyName } from './names.js';
