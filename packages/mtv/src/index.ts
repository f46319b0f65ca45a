// Public API of @mtv/mtv.
export * from './metrics/index.js';
export * from './datasets/index.js';
export * from './sampling/index.js';
export * from './prompts/index.js';
export * from './activations/index.js';
export * from './locate/index.js';
export * from './artifact/index.js';
