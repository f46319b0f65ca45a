// float64 CPU references of the backward kernels and the optimiser (src/ops/grad, src/ops/adam.ts).
export * from './grad/fd.js';
export * from './grad/linear.js';
export * from './grad/activation.js';
export * from './grad/norm.js';
export * from './grad/rope.js';
export * from './grad/attention.js';
export * from './grad/embedding.js';
export * from './grad/cross_entropy.js';
export * from './grad/adam.js';
