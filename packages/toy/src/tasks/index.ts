// The synthetic multimodal task suite (see packages/toy/README.md, "Task suite").
export * from './attributes.js';
export { Rng, mixSeed, toSeed } from './rng.js';
export { shapeMask } from './shapes.js';
export {
  DEFAULT_IMAGE_SIZE, MAX_IMAGE_SIZE, MIN_IMAGE_SIZE, boxesCentroidX, checkImageSize, layoutBoxes, objectSide, positionMargin, renderScene,
  type RenderOptions, type ToyImage,
} from './image.js';
export { randomImage, randomScene } from './scene.js';
export { FOREGROUND_THRESHOLD, analyseImage, foregroundComponents, matchShape, nearestColour, type Component } from './analyse.js';
export * from './types.js';
export { TASK_INFERENCE_QUESTION, taskInference } from './families/task-inference.js';
export { NOISY_SIGNAL, noisyTaskInference, pluralityAccuracy, shotAttribute } from './families/noisy-task-inference.js';
export { NONSENSE_LABELS, OPTION_LETTERS, TWO_WAY_QUESTION, VISUAL_CLASSES, twoWay, twoWayExample } from './families/two-way.js';
export {
  ABSENT_SHAPES, ANSWER_SYNONYMS, DEFAULT_UNANSWERABLE_RATE, PLURALS, SYNONYM_RATE, UNANSWERABLE, UNANSWERABLE_TYPES, VQA_TYPES, vqa, vqaExample,
} from './families/vqa.js';
export { CHANCE, TASK_FAMILIES, getFamily } from './families/index.js';
export * from './format.js';
export * from './vocab.js';
export { decodeRgb, encodePng, type RawRgb } from './png.js';
export * from './export.js';
export { readJsonlDataset, readTwoWayJson, readVqaDataset } from './read.js';
