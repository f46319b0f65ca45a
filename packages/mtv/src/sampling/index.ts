export { Prng, type PrngState } from './prng.js';
export { sampleRound, type RoundSample, type RoundSampleOptions } from './sample.js';
