import { ImageError } from './errors.js';

/** An 8-bit RGB image, rows top to bottom, pixels interleaved: data[(y * width + x) * 3 + c], c = R, G, B. */
export interface RgbImage {
  width: number;
  height: number;
  data: Uint8Array;
  /** Where it came from (a path, or a description of a buffer), named in errors. */
  source: string;
}

/** Resampling filters by Pillow's names; Pillow's integer codes are 0 NEAREST, 1 LANCZOS, 2 BILINEAR, 3 BICUBIC, 4 BOX, 5 HAMMING. */
export type ResampleFilter = 'nearest' | 'lanczos' | 'bilinear' | 'bicubic' | 'box' | 'hamming';
export const PIL_RESAMPLE: readonly ResampleFilter[] = ['nearest', 'lanczos', 'bilinear', 'bicubic', 'box', 'hamming'];

export function rgbImage(width: number, height: number, data: Uint8Array, source: string): RgbImage {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width <= 0 || height <= 0 || data.length !== width * height * 3) {
    throw new ImageError(source, `${width}x${height} RGB needs ${width * height * 3} bytes, got ${data.length}`);
  }
  return { width, height, data, source };
}
