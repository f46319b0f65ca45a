// float64 CPU references of every kernel: the ground truth the GPU kernels are tested against.
export * from './elementwise.js';
export * from './softmax.js';
export * from './argmax.js';
export * from './cross_entropy.js';
export * from './norm.js';
export * from './attention.js';
export * from './rope.js';
export * from './gather.js';
export * from './scatter.js';
export * from './grad.js';
export * from './matmul.js';
