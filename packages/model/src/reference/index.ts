export { activate, layerNorm, linear, rmsNorm, softmaxInPlace } from './math.js';
export { loadReferenceModel, optionalWeight, weight, type ReferenceModel } from './model.js';
export { applyMultimodalRope, applyRope, referenceDecoder, type DecoderOptions, type DecoderOutput, type ReferencePatch } from './decoder.js';
export { referenceEmbeddings, referenceForward, type ReferenceInputs, type ReferencePixels } from './forward.js';
