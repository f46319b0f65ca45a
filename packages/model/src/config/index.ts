export { ACTIVATIONS, type Activation, type RopeConfig, type TextConfig, type TextModelType, type VisionConfig, type VisionModelType } from './types.js';
export { ConfigError, Fields, isObject, type Json } from './fields.js';
export { parseTextConfig } from './text.js';
export { parseVisionConfig } from './vision.js';
export { readConfigObject } from './read.js';
