export { ImageError } from './errors.js';
export type { RgbImage, ResampleFilter } from './types.js';
export { rgbImage, PIL_RESAMPLE } from './types.js';
export { decodeImage, DECODABLE_FORMATS, MAX_IMAGE_PIXELS, MAX_IMAGE_PIXELS_ENV, maxImagePixels, probeImage, processorPixelLimit, type ImageHeader } from './decode.js';
export type { DecodeImageOptions } from './decode.js';
export { pilResize } from './resample.js';
export { sharpResize } from './sharp-resize.js';
export {
  resolvePreprocessorConfig,
  loadPreprocessorConfig,
  OPENAI_CLIP_MEAN,
  OPENAI_CLIP_STD,
  IMAGENET_STANDARD_MEAN,
  IMAGENET_STANDARD_STD,
} from './config.js';
export type { PreprocessorConfig, ResizeSpec, ImageProcessorKind } from './config.js';
export { preprocessImage, preprocessImages, resizeOutputSize, centerCrop, rescaleNormalize } from './preprocess.js';
export type { PixelValues, PreprocessOptions } from './preprocess.js';
