export { ACTIVATIONS, type Activation, type LlavaConfig, type RopeConfig, type TextConfig, type TextModelType, type VisionConfig, type VisionModelType } from './types.js';
export { ConfigError } from './fields.js';
export { parseLlavaConfig } from './parse.js';
export { loadLlavaConfig } from './load.js';
