export * from './server.js';
export * from './client.js';
export * from './close-codes.js';
export * from './backoff.js';
export * from './logger.js';
export { isLoopbackHost, tokenMatches, checkBindSecurity, MIN_TOKEN_CHARS } from './security.js';
export { TypedEmitter } from './emitter.js';
