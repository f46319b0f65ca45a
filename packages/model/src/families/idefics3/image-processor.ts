// Idefics3ImageProcessor (SmolVLM), reproduced bit for bit (VLM_FAMILIES.md 1.5): for each image
//   1. resize so the longest edge is size.longest_edge (up or down; the other side int(L / aspect),
//      bumped to even; then kept under MAX_IMAGE_SIZE = 4096), LANCZOS by default;
//   2. resize_for_vision_encoder: a second resize, from the step-1 image, to multiples of
//      M = max_image_size.longest_edge (width = ceil(w / M) * M, height = ceil(int(width / aspect) / M) * M
//      when w >= h; symmetric otherwise);
//   3. when larger than M x M, cut into rows x cols tiles of M x M, row-major, then append the global
//      image (the step-2 image resized to M x M); else the one M x M frame (rows = cols = 0);
//   4. rescale (float64 product cast to float32), normalise in float32, channels first;
//   5. pad every frame to the largest H x W with zeros (bottom/right) and a pixel mask (1 = real).
// Every resize is Pillow's on uint8 RGB (pilResize), one after the other, never from the original.
//
// do_image_splitting = false: we match the PIL backend (image_processing_pil_idefics3.py) and the fast
// backend, which resize each step-1 image to M x M (a square, whatever its aspect). The older slow
// Idefics3ImageProcessor (image_processing_idefics3.py at 000c8ea) left the step-1 image as it was
// (longest edge L, not square), which only the padding then evened out; that is not reproduced.
// RGB conversion is the decoder's (image/decode.ts: alpha dropped, as the PIL backend's
// convert("RGB") does; the old slow class composited on white instead).
import { levelTable } from '../../image/preprocess.js';
import { join } from 'node:path';
import { readJsonFile } from '../../files/read-json.js';
import { MAX_IMAGE_PIXELS } from '../../image/decode.js';
import { ImageError } from '../../image/errors.js';
import { pilResize } from '../../image/resample.js';
import { PIL_RESAMPLE, type ResampleFilter, type RgbImage } from '../../image/types.js';
import type { PixelBatch } from '../types.js';

/** MAX_IMAGE_SIZE of image_processing_pil_idefics3.py: the longest edge after step 1 never exceeds it. */
export const IDEFICS3_MAX_IMAGE_SIZE = 4096;

export const IDEFICS3_IMAGE_PROCESSOR_TYPES: readonly string[] = ['Idefics3ImageProcessor', 'Idefics3ImageProcessorFast', 'Idefics3ImageProcessorPil'];

export interface Idefics3ImageProcessorConfig {
  /** The file it was read from (or a description), named in errors. */
  source: string;
  doConvertRgb: boolean;
  doResize: boolean;
  /** Step 1: longest edge to `longestEdge` keeping the aspect, or an exact size. */
  size: { mode: 'longest_edge'; longestEdge: number } | { mode: 'exact'; height: number; width: number };
  /** max_image_size.longest_edge: the tile side M. */
  maxImageSize: number;
  doImageSplitting: boolean;
  resample: ResampleFilter;
  doRescale: boolean;
  rescaleFactor: number;
  doNormalize: boolean;
  imageMean: [number, number, number];
  imageStd: [number, number, number];
  doPad: boolean;
}

type Raw = Record<string, unknown>;
const isObj = (v: unknown): v is Raw => typeof v === 'object' && v !== null && !Array.isArray(v);
const isPosInt = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v > 0;

/** Validates a parsed preprocessor_config.json of Idefics3ImageProcessor and fills the class defaults. */
export function parseIdefics3ImageProcessorConfig(raw: unknown, source = 'preprocessor_config.json'): Idefics3ImageProcessorConfig {
  const fail = (field: string, message: string): never => {
    throw new ImageError(source, `${field}: ${message}`);
  };
  if (!isObj(raw)) return fail('(root)', `must be a JSON object, got ${Array.isArray(raw) ? 'an array' : JSON.stringify(raw)}`);
  const bool = (key: string, dflt: boolean): boolean => {
    const v = raw[key] ?? dflt;
    if (typeof v !== 'boolean') fail(key, `must be true or false, got ${JSON.stringify(v)}`);
    return v as boolean;
  };
  const type = raw.image_processor_type;
  if (type !== undefined && type !== null && !(typeof type === 'string' && IDEFICS3_IMAGE_PROCESSOR_TYPES.includes(type))) {
    fail('image_processor_type', `${JSON.stringify(type)} is not an Idefics3 image processor (supported: ${IDEFICS3_IMAGE_PROCESSOR_TYPES.join(', ')})`);
  }

  let size: Idefics3ImageProcessorConfig['size'] = { mode: 'longest_edge', longestEdge: 4 * 364 };
  const rawSize = raw.size;
  if (rawSize !== undefined && rawSize !== null) {
    if (!isObj(rawSize)) fail('size', `must be {"longest_edge": n} or {"height": h, "width": w}, got ${JSON.stringify(rawSize)}`);
    const s = rawSize as Raw;
    if (s.longest_edge !== undefined && s.longest_edge !== null) {
      if (!isPosInt(s.longest_edge)) fail('size.longest_edge', `must be a positive integer, got ${JSON.stringify(s.longest_edge)}`);
      size = { mode: 'longest_edge', longestEdge: s.longest_edge as number };
    } else if (s.height !== undefined || s.width !== undefined) {
      if (!isPosInt(s.height)) fail('size.height', `must be a positive integer, got ${JSON.stringify(s.height)}`);
      if (!isPosInt(s.width)) fail('size.width', `must be a positive integer, got ${JSON.stringify(s.width)}`);
      size = { mode: 'exact', height: s.height as number, width: s.width as number };
    } else {
      fail('size', `must have "longest_edge" (or "height" and "width"), got ${JSON.stringify(rawSize)}`);
    }
  }

  let maxImageSize = 364;
  const rawMax = raw.max_image_size;
  if (rawMax !== undefined && rawMax !== null) {
    if (!isObj(rawMax) || !isPosInt((rawMax as Raw).longest_edge)) fail('max_image_size.longest_edge', `must be a positive integer, got ${JSON.stringify(rawMax)}`);
    maxImageSize = (rawMax as Raw).longest_edge as number;
  }

  const resampleRaw = raw.resample ?? 1;
  if (!Number.isInteger(resampleRaw) || (resampleRaw as number) < 0 || (resampleRaw as number) >= PIL_RESAMPLE.length) {
    fail('resample', `must be a Pillow filter code 0..5, got ${JSON.stringify(resampleRaw)}`);
  }
  const resample = PIL_RESAMPLE[resampleRaw as number]!;
  if (resample === 'nearest') fail('resample', '0 (NEAREST) is not supported (supported: 1 LANCZOS, 2 BILINEAR, 3 BICUBIC, 4 BOX, 5 HAMMING)');

  const rescaleFactor = raw.rescale_factor ?? 1 / 255;
  if (typeof rescaleFactor !== 'number' || !Number.isFinite(rescaleFactor) || rescaleFactor <= 0) fail('rescale_factor', `must be a positive number, got ${JSON.stringify(rescaleFactor)}`);

  const triple = (key: string): [number, number, number] => {
    const v = raw[key] ?? 0.5; // IMAGENET_STANDARD_MEAN / _STD
    const ok = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x);
    if (ok(v)) return [v, v, v];
    if (Array.isArray(v) && v.length === 3 && v.every(ok)) return [v[0], v[1], v[2]];
    return fail(key, `must be a number or 3 numbers (one per RGB channel), got ${JSON.stringify(v)}`);
  };
  const imageStd = triple('image_std');
  if (imageStd.some((s) => s === 0)) fail('image_std', `${JSON.stringify(imageStd)} has a zero`);

  return {
    source,
    doConvertRgb: bool('do_convert_rgb', true),
    doResize: bool('do_resize', true),
    size,
    maxImageSize,
    doImageSplitting: bool('do_image_splitting', true),
    resample,
    doRescale: bool('do_rescale', true),
    rescaleFactor: rescaleFactor as number,
    doNormalize: bool('do_normalize', true),
    imageMean: triple('image_mean'),
    imageStd,
    doPad: bool('do_pad', true),
  };
}

/** Reads and validates `dir/preprocessor_config.json`. */
export async function loadIdefics3ImageProcessorConfig(dir: string): Promise<Idefics3ImageProcessorConfig> {
  const file = join(dir, 'preprocessor_config.json');
  const raw = await readJsonFile(file, (reason) => new ImageError(file, `cannot read: ${reason}`));
  return parseIdefics3ImageProcessorConfig(raw, file);
}

/**
 * Step 1's output (width, height): _resize_output_size_rescale_to_max_len then
 * _resize_output_size_scale_below_upper_bound, in Python's float arithmetic (int() truncates).
 */
export function idefics3ResizeSize(width: number, height: number, longestEdge: number): { width: number; height: number } {
  let w = width;
  let h = height;
  const aspect = w / h;
  if (w >= h) {
    w = longestEdge;
    h = Math.trunc(w / aspect);
    if (h % 2 !== 0) h += 1;
  } else {
    h = longestEdge;
    w = Math.trunc(h * aspect);
    if (w % 2 !== 0) w += 1;
  }
  h = Math.max(h, 1);
  w = Math.max(w, 1);
  const aspect2 = w / h;
  if (w >= h && w > IDEFICS3_MAX_IMAGE_SIZE) {
    w = IDEFICS3_MAX_IMAGE_SIZE;
    h = Math.trunc(w / aspect2);
  } else if (h > w && h > IDEFICS3_MAX_IMAGE_SIZE) {
    h = IDEFICS3_MAX_IMAGE_SIZE;
    w = Math.trunc(h * aspect2);
  }
  return { width: Math.max(w, 1), height: Math.max(h, 1) };
}

/** Step 2's output (width, height): resize_for_vision_encoder, both sides multiples of `m`. */
export function idefics3VisionEncoderSize(width: number, height: number, m: number): { width: number; height: number } {
  const aspect = width / height;
  let w = width;
  let h = height;
  if (w >= h) {
    w = Math.ceil(w / m) * m;
    h = Math.trunc(w / aspect);
    h = Math.ceil(h / m) * m;
  } else {
    h = Math.ceil(h / m) * m;
    w = Math.trunc(h * aspect);
    w = Math.ceil(w / m) * m;
  }
  return { width: w, height: h };
}

/** The rows x cols tiling one image gets (0 x 0: not split, a single frame), from its decoded size. */
export function idefics3Grid(width: number, height: number, cfg: Idefics3ImageProcessorConfig): { rows: number; cols: number } {
  if (!cfg.doImageSplitting) return { rows: 0, cols: 0 };
  let s = { width, height };
  if (cfg.doResize) s = cfg.size.mode === 'exact' ? { width: cfg.size.width, height: cfg.size.height } : idefics3ResizeSize(width, height, cfg.size.longestEdge);
  const v = idefics3VisionEncoderSize(s.width, s.height, cfg.maxImageSize);
  const m = cfg.maxImageSize;
  return v.height > m || v.width > m ? { rows: v.height / m, cols: v.width / m } : { rows: 0, cols: 0 };
}

/** The `size x size` crop at (x, y) of an RGB image. */
function crop(img: RgbImage, x: number, y: number, size: number): RgbImage {
  const out = new Uint8Array(size * size * 3);
  for (let r = 0; r < size; r++) {
    const s = ((y + r) * img.width + x) * 3;
    out.set(img.data.subarray(s, s + size * 3), r * size * 3);
  }
  return { width: size, height: size, data: out, source: img.source };
}

/** The uint8 frames of one image (tiles row-major, then the global image) and its grid. */
export function idefics3Frames(img: RgbImage, cfg: Idefics3ImageProcessorConfig): { frames: RgbImage[]; rows: number; cols: number } {
  if (img.data.length !== img.width * img.height * 3) {
    throw new ImageError(img.source, `RGB data has ${img.data.length} bytes; ${img.width}x${img.height}x3 needs ${img.width * img.height * 3}`);
  }
  const m = cfg.maxImageSize;
  let cur = img;
  if (cfg.doResize) {
    const s = cfg.size.mode === 'exact' ? { width: cfg.size.width, height: cfg.size.height } : idefics3ResizeSize(cur.width, cur.height, cfg.size.longestEdge);
    cur = pilResize(cur, s.width, s.height, cfg.resample);
  }
  if (!cfg.doImageSplitting) return { frames: [pilResize(cur, m, m, cfg.resample)], rows: 0, cols: 0 };
  const v = idefics3VisionEncoderSize(cur.width, cur.height, m);
  cur = pilResize(cur, v.width, v.height, cfg.resample);
  if (cur.height <= m && cur.width <= m) return { frames: [cur], rows: 0, cols: 0 };
  const rows = cur.height / m;
  const cols = cur.width / m;
  const frames: RgbImage[] = [];
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) frames.push(crop(cur, c * m, r * m, m));
  frames.push(pilResize(cur, m, m, cfg.resample));
  return { frames, rows, cols };
}

/**
 * Rescale and normalise one frame into channel-first float32 planes, with numpy's arithmetic:
 * the level table of image/preprocess.ts (levelTable).
 */
function normalizeFrame(img: RgbImage, lut: Float32Array, out: Float32Array, stride: { h: number; w: number }): void {
  const plane = stride.h * stride.w;
  for (let y = 0; y < img.height; y++) {
    for (let x = 0; x < img.width; x++) {
      const s = (y * img.width + x) * 3;
      const o = y * stride.w + x;
      out[o] = lut[img.data[s]!]!;
      out[plane + o] = lut[256 + img.data[s + 1]!]!;
      out[2 * plane + o] = lut[512 + img.data[s + 2]!]!;
    }
  }
}

/**
 * The processor's output for the images of one prompt: every frame of every image in order
 * ([n, 3, H, W] with H x W the largest frame, zero padded bottom/right), the pixel mask when do_pad,
 * and each image's rows x cols (what the prompt expansion needs).
 */
export function preprocessIdefics3(images: readonly RgbImage[], cfg: Idefics3ImageProcessorConfig): { pixels: PixelBatch; grids: { rows: number; cols: number }[] } {
  if (images.length === 0) throw new ImageError(cfg.source, 'preprocessIdefics3 needs at least one image');
  const frames: RgbImage[] = [];
  const grids: { rows: number; cols: number }[] = [];
  for (const img of images) {
    const r = idefics3Frames(img, cfg);
    frames.push(...r.frames);
    grids.push({ rows: r.rows, cols: r.cols });
  }
  const H = Math.max(...frames.map((f) => f.height));
  const W = Math.max(...frames.map((f) => f.width));
  if (!cfg.doPad) {
    const odd = frames.find((f) => f.height !== H || f.width !== W);
    if (odd) throw new ImageError(odd.source, `a frame is ${odd.width}x${odd.height} but another is ${W}x${H}; with do_pad false every frame must have one size`);
  }
  const n = frames.length;
  const size = 3 * H * W;
  const data = new Float32Array(n * size);
  const mask = cfg.doPad ? new Uint8Array(n * H * W) : undefined;
  const lut = levelTable(cfg); // once per batch, not per frame
  frames.forEach((fr, i) => {
    normalizeFrame(fr, lut, data.subarray(i * size, (i + 1) * size), { h: H, w: W });
    if (mask) for (let y = 0; y < fr.height; y++) mask.fill(1, i * H * W + y * W, i * H * W + y * W + fr.width);
  });
  const pixels: PixelBatch = { data, shape: [n, 3, H, W] };
  if (mask) pixels.mask = mask;
  return { pixels, grids };
}

/**
 * Pixels an image may have before decoding is refused, before $MTV_MAX_IMAGE_PIXELS: what the processor
 * can use. Step 1 resizes to the longest edge, so an image over 4096 times that square (64 times each
 * side) carries nothing it needs; capped at Pillow's MAX_IMAGE_PIXELS (which it equals for SmolVLM).
 */
export function idefics3PixelNeed(cfg: Idefics3ImageProcessorConfig): number {
  if (!cfg.doResize) return MAX_IMAGE_PIXELS;
  const area = cfg.size.mode === 'exact' ? cfg.size.height * cfg.size.width : cfg.size.longestEdge * cfg.size.longestEdge;
  return Math.min(MAX_IMAGE_PIXELS, area * 4096);
}
