// Tiny random-weight checkpoints in the exact Hugging Face layouts. Each family writes its own
// (families/<family>/tiny.ts); the seeded weights are shared.
export { tinyTensors, type TinyTensor } from './weights.js';
