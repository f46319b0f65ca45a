// Backward kernels for training (float64 references in src/reference/grad/).
export * from './gemm.js';
export * from './colsum.js';
export * from './activation.js';
export * from './norm.js';
export * from './rope.js';
export * from './attention.js';
export * from './embedding.js';
export * from './cross_entropy.js';
export * from './grad_norm.js';
