export { applyMtv, defaultStopTokens, generateWith, headPatch, taskVector, type ApplyOptions, type TaskVector } from './apply.js';
