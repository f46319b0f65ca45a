export { TINY_FAMILIES, TINY_WORDS, tinyConfigJson, tinyPreprocessorJson, tinyProcessorJson, tinySpecials, tinyVocab, type TinyFamily, type TinySpecials } from './presets.js';
export { tinyTensors, type TinyTensor } from './weights.js';
export { writeTinyCheckpoint, type TinyCheckpoint, type TinyDType, type TinyNaming, type TinyOptions } from './generate.js';
