export { Checkpoint, CheckpointError, INDEX_FILE, SINGLE_FILE, openCheckpoint } from './checkpoint.js';
export { textExpectedTensors, type ExpectedTensor } from './expected.js';
export { LM_HEAD, TEXT_PREFIX, isIgnoredName } from './names.js';
