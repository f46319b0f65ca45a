// Public API of @mtv/coordinator; filled in as the package grows.
export * from './protocol/index.js';
export * from './net/index.js';
