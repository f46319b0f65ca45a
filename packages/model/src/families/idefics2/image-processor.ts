// Idefics2ImageProcessor (the slow numpy + PIL class; VLM_FAMILIES.md 2.5): optional split into four
// crops + the original (before any resize), resize each frame so its long side is at most longest_edge,
// then clamp each side independently to at least shortest_edge (this distorts the aspect ratio),
// BILINEAR through Pillow's resampler, rescale, normalise, pad every frame to the batch's largest
// height and width with zeros, with a pixel mask (1 = real pixel).
import { levelTable } from '../../image/preprocess.js';
import { ConfigError, Fields, isObject } from '../../config/fields.js';
import { ImageError } from '../../image/errors.js';
import { pilResize } from '../../image/resample.js';
import { PIL_RESAMPLE, type ResampleFilter, type RgbImage } from '../../image/types.js';
import type { PixelBatch } from '../types.js';

export const IDEFICS2_IMAGE_PROCESSOR_TYPES: readonly string[] = ['Idefics2ImageProcessor', 'Idefics2ImageProcessorFast'];

/** `{shortest_edge, longest_edge}` (get_resize_output_image_size) or an exact `{height, width}`. */
export type Idefics2ResizeSpec = { mode: 'edges'; shortestEdge: number; longestEdge: number } | { mode: 'exact'; height: number; width: number };

export interface Idefics2ImageProcessorConfig {
  /** The file it was read from, named in errors. */
  source: string;
  doResize: boolean;
  size: Idefics2ResizeSpec;
  resample: ResampleFilter;
  doRescale: boolean;
  rescaleFactor: number;
  doNormalize: boolean;
  imageMean: [number, number, number];
  imageStd: [number, number, number];
  doImageSplitting: boolean;
}

/** Frames each image becomes: four crops and the original when splitting, else the image alone. */
export const framesPerIdefics2Image = (cfg: Idefics2ImageProcessorConfig): number => (cfg.doImageSplitting ? 5 : 1);

function triple(f: Fields, key: string, fallback: number): [number, number, number] {
  const v = f.obj[key];
  if (v === undefined || v === null) return [fallback, fallback, fallback];
  const ok = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x);
  if (ok(v)) return [v, v, v];
  if (Array.isArray(v) && v.length === 3 && v.every(ok)) return [v[0], v[1], v[2]];
  return f.fail(key, `expected a number or 3 numbers (one per RGB channel), got ${JSON.stringify(v)}`);
}

function resizeSpec(f: Fields): Idefics2ResizeSpec {
  const s = f.sub('size');
  if (s === null) return { mode: 'edges', shortestEdge: 378, longestEdge: 980 };
  if (s.has('shortest_edge') && s.has('longest_edge')) {
    return { mode: 'edges', shortestEdge: s.positive('shortest_edge', 0), longestEdge: s.positive('longest_edge', 0) };
  }
  if (s.has('height') && s.has('width')) return { mode: 'exact', height: s.positive('height', 0), width: s.positive('width', 0) };
  return f.fail('size', `expected {shortest_edge, longest_edge} or {height, width}, got ${JSON.stringify(f.obj['size'])}`);
}

/** Validates a parsed preprocessor_config.json of Idefics2ImageProcessor; `file` names it in errors. */
export function parseIdefics2ImageProcessorConfig(json: unknown, file = 'preprocessor_config.json'): Idefics2ImageProcessorConfig {
  if (!isObject(json)) throw new ConfigError(file, '(root)', `expected a JSON object, got ${JSON.stringify(json)}`);
  const f = new Fields(file, json);
  if (f.has('image_processor_type')) f.oneOf('image_processor_type', '', IDEFICS2_IMAGE_PROCESSOR_TYPES);
  const resampleCode = f.int('resample', 2);
  if (resampleCode >= PIL_RESAMPLE.length || PIL_RESAMPLE[resampleCode] === 'nearest') {
    f.fail('resample', `Pillow filter ${resampleCode} is not supported (supported: 1 LANCZOS, 2 BILINEAR, 3 BICUBIC, 4 BOX, 5 HAMMING)`);
  }
  // Without padding, transformers returns frames of different sizes and no pixel mask, which the model cannot batch.
  if (!f.bool('do_pad', true)) f.fail('do_pad', 'false is not supported: frames are padded to one size with a pixel mask');
  const rescaleFactor = f.num('rescale_factor', 1 / 255);
  if (!(rescaleFactor > 0)) f.fail('rescale_factor', `must be positive, got ${rescaleFactor}`);
  const imageStd = triple(f, 'image_std', 0.5);
  if (imageStd.some((s) => s === 0)) f.fail('image_std', `${JSON.stringify(imageStd)} has a zero`);
  // do_convert_rgb only matters for non-RGB PIL inputs; images reach us as decoded 8-bit RGB.
  f.bool('do_convert_rgb', true);
  return {
    source: file,
    doResize: f.bool('do_resize', true),
    size: resizeSpec(f),
    resample: PIL_RESAMPLE[resampleCode]!,
    doRescale: f.bool('do_rescale', true),
    rescaleFactor,
    doNormalize: f.bool('do_normalize', true),
    imageMean: triple(f, 'image_mean', 0.5),
    imageStd,
    doImageSplitting: f.bool('do_image_splitting', false),
  };
}

/**
 * Output (width, height) of one frame (transformers get_resize_output_image_size): the long side is
 * brought down to longest_edge keeping the ratio (Python int() truncation), then each side is raised to
 * shortest_edge on its own.
 */
export function idefics2ResizeOutputSize(width: number, height: number, size: Idefics2ResizeSpec): { width: number; height: number } {
  if (size.mode === 'exact') return { width: size.width, height: size.height };
  const { shortestEdge: minLen, longestEdge: maxLen } = size;
  const aspectRatio = width / height;
  let w = width;
  let h = height;
  if (w >= h && w > maxLen) {
    w = maxLen;
    h = Math.trunc(w / aspectRatio);
  } else if (h > w && h > maxLen) {
    h = maxLen;
    w = Math.trunc(h * aspectRatio);
  }
  return { width: Math.max(w, minLen), height: Math.max(h, minLen) };
}

function crop(img: RgbImage, x0: number, y0: number, x1: number, y1: number): RgbImage {
  const w = x1 - x0;
  const h = y1 - y0;
  const data = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++) data.set(img.data.subarray(((y0 + y) * img.width + x0) * 3, ((y0 + y) * img.width + x1) * 3), y * w * 3);
  return { width: w, height: h, data, source: img.source };
}

/** Idefics2ImageProcessor.split_image: top-left, top-right, bottom-left, bottom-right (split at w//2, h//2), then the original. */
export function splitIdefics2Image(img: RgbImage): RgbImage[] {
  if (img.width < 2 || img.height < 2) throw new ImageError(img.source, `${img.width}x${img.height} is too small to split into four crops (needs at least 2x2)`);
  const mw = Math.floor(img.width / 2);
  const mh = Math.floor(img.height / 2);
  return [crop(img, 0, 0, mw, mh), crop(img, mw, 0, img.width, mh), crop(img, 0, mh, mw, img.height), crop(img, mw, mh, img.width, img.height), img];
}

/**
 * Per channel, the value of each of the 256 levels after rescale and normalise, with numpy's dtypes:
 * rescale in float64 then cast to float32, normalise (x - mean) / std in float32.
 */
/**
 * The processor on the images of one prompt: frames of every image in order ([crops..., original] per
 * image when splitting), channel-first float32, zero-padded to the largest frame, with the pixel mask.
 */
export function preprocessIdefics2(images: readonly RgbImage[], cfg: Idefics2ImageProcessorConfig): { pixels: PixelBatch; framesPerImage: number[] } {
  if (images.length === 0) throw new ImageError(cfg.source, 'preprocessIdefics2 needs at least one image');
  const frames: RgbImage[] = [];
  const framesPerImage: number[] = [];
  for (const img of images) {
    if (img.data.length !== img.width * img.height * 3) {
      throw new ImageError(img.source, `RGB data has ${img.data.length} bytes; ${img.width}x${img.height}x3 needs ${img.width * img.height * 3}`);
    }
    const parts = cfg.doImageSplitting ? splitIdefics2Image(img) : [img];
    framesPerImage.push(parts.length);
    for (const part of parts) {
      if (!cfg.doResize) {
        frames.push(part);
        continue;
      }
      const { width, height } = idefics2ResizeOutputSize(part.width, part.height, cfg.size);
      frames.push(pilResize(part, width, height, cfg.resample));
    }
  }
  const H = Math.max(...frames.map((f) => f.height));
  const W = Math.max(...frames.map((f) => f.width));
  const n = frames.length;
  const data = new Float32Array(n * 3 * H * W);
  const mask = new Uint8Array(n * H * W);
  const lut = levelTable(cfg);
  frames.forEach((fr, i) => {
    for (let y = 0; y < fr.height; y++) {
      for (let x = 0; x < fr.width; x++) {
        const s = (y * fr.width + x) * 3;
        const o = y * W + x;
        mask[i * H * W + o] = 1;
        for (let c = 0; c < 3; c++) data[(i * 3 + c) * H * W + o] = lut[c * 256 + fr.data[s + c]!]!;
      }
    }
  });
  return { pixels: { data, shape: [n, 3, H, W], mask }, framesPerImage };
}
