export * from './messages.js';
export * from './errors.js';
export { encodeMessage, decodeMessage, type DecodeOptions } from './codec.js';
