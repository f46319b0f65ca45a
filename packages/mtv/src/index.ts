// Public API of @mtv/mtv.
export * from './metrics/index.js';
export * from './datasets/index.js';
export * from './sampling/index.js';
export * from './prompts/index.js';
export * from './activations/index.js';
export * from './locate/index.js';
export * from './artifact/index.js';
export * from './pipeline/index.js';
export * from './extract/index.js';
export * from './rollouts/index.js';
export * from './locators/index.js';
export * from './apply/index.js';
export * from './evaluate/index.js';
export * from './cli/index.js';
export * from './io/index.js';
export * from './report/index.js';
