// Public API of @mtv/coordinator; filled in as the package grows.
export * from './protocol/index.js';
export * from './net/index.js';
export * from './scheduler/index.js';
export * from './checkpoint/index.js';
export * from './jobs/index.js';
export * from './fleet/index.js';
export * from './cli/index.js';
export * from './dashboard/index.js';
export * from './metrics/index.js';
