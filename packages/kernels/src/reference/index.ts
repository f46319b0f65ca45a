// float64 CPU references of every kernel: the ground truth the GPU kernels are tested against.
export * from './elementwise.js';
