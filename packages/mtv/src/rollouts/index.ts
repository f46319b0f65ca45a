export { rolloutEvaluator, crossEntropyHost, type RolloutMode, type RolloutOptions } from './evaluators.js';
export { locate, locatorSets, type LocateOptions, type LocatorSets } from './locate.js';
