export { DEFAULT_MAX_NEW_TOKENS, DEFAULT_MIN_NEW_TOKENS, applyMtv, defaultStopTokens, generateWith, headPatch, taskVector, type ApplyOptions, type TaskVector } from './apply.js';
