// Public API of @mtv/toy.
export * from './tasks/index.js';
