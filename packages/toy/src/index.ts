// Public API of @mtv/toy.
export * from './tasks/index.js';
export * from './model/index.js';
export * from './train/index.js';
export * from './eval/index.js';
