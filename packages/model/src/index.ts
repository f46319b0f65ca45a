// Public API of @mtv/model (an export list: other modules append their lines).
export * from './safetensors/index.js';
export * from './config/index.js';
export * from './weights/index.js';
export * from './reference/index.js';
export * from './tiny/index.js';
export * from './tokenizer/index.js';
export * from './image/index.js';
export * from './prompt/index.js';
export * from './runtime/index.js';
export * from './files/index.js';
export * from './families/index.js';
