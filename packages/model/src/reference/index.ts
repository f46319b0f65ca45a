export { activate, layerNorm, linear, rmsNorm, softmaxInPlace } from './math.js';
export { loadReferenceModel, type ReferenceModel } from './model.js';
export { referenceImageFeatures, referenceVisionFeatures, referenceVisionHiddenStates } from './vision.js';
export { applyRope, referenceDecoder, type DecoderOptions, type DecoderOutput, type ReferencePatch } from './decoder.js';
export { referenceEmbeddings, referenceForward, type ReferenceInputs } from './forward.js';
