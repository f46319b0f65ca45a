// Qwen2VLImageProcessor (the slow, Pillow one; Qwen2.5-VL uses the same class), reproduced bit for bit
// (VLM_FAMILIES.md 4.3). For each image:
//   1. smart_resize: (h, w) to multiples of factor = patch_size * merge_size, round half to even
//      (Python round), then scaled into [min_pixels, max_pixels] keeping the aspect (floor when too
//      large, never below one factor; ceil when too small); aspect ratios above 200 are refused.
//      This is the newer smart_resize; the older slow class (image_processing_qwen2_vl.py at
//      cb0fc56) also refused a side under one factor and had no one-factor floor (a side could
//      become 0), which only differs for images narrower than 28 px;
//   2. Pillow resize to that size on uint8 RGB (BICUBIC unless `resample` says otherwise);
//   3. rescale (float64 product cast to float32), normalise in float32 (OPENAI CLIP mean/std);
//   4. the image repeated temporal_patch_size times along t (grid_t = 1), then the patches
//      flattened as the processor's reshape (t, tp, C, gh/m, m, P, gw/m, m, P) ->
//      permute (0, 3, 6, 4, 7, 2, 1, 5, 8) -> [gt * gh * gw, C * tp * P * P]: rows by 2 x 2 merge
//      window (window row, window column, row in window, column in window), each row (C, tp, py, px).
// Video input is not supported (images only).
import { levelTable } from '../../image/preprocess.js';
import { join } from 'node:path';
import { readJsonFile } from '../../files/read-json.js';
import { ImageError } from '../../image/errors.js';
import { pilResize } from '../../image/resample.js';
import { PIL_RESAMPLE, type ResampleFilter, type RgbImage } from '../../image/types.js';
import { OPENAI_CLIP_MEAN, OPENAI_CLIP_STD } from '../../image/config.js';
import type { PixelBatch } from '../types.js';

export const QWEN2_VL_IMAGE_PROCESSOR_TYPES: readonly string[] = ['Qwen2VLImageProcessor', 'Qwen2VLImageProcessorFast'];

export interface Qwen2VLImageProcessorConfig {
  source: string;
  doResize: boolean;
  minPixels: number;
  maxPixels: number;
  patchSize: number;
  temporalPatchSize: number;
  mergeSize: number;
  resample: ResampleFilter;
  doRescale: boolean;
  rescaleFactor: number;
  doNormalize: boolean;
  imageMean: [number, number, number];
  imageStd: [number, number, number];
}

type Raw = Record<string, unknown>;
const isObj = (v: unknown): v is Raw => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Validates a parsed preprocessor_config.json and fills Qwen2VLImageProcessor's defaults. */
export function parseQwen2VLImageProcessorConfig(raw: unknown, source = 'preprocessor_config.json'): Qwen2VLImageProcessorConfig {
  const fail = (field: string, message: string): never => {
    throw new ImageError(source, `${field}: ${message}`);
  };
  if (!isObj(raw)) return fail('(root)', `must be a JSON object, got ${JSON.stringify(raw)}`);
  const type = raw['image_processor_type'];
  if (type !== undefined && !QWEN2_VL_IMAGE_PROCESSOR_TYPES.includes(String(type))) fail('image_processor_type', `${JSON.stringify(type)} is not supported (supported: ${QWEN2_VL_IMAGE_PROCESSOR_TYPES.join(', ')})`);
  const bool = (k: string, d: boolean): boolean => {
    const v = raw[k] ?? d;
    return typeof v === 'boolean' ? v : fail(k, `expected true or false, got ${JSON.stringify(v)}`);
  };
  const posInt = (v: unknown, k: string): number => (typeof v === 'number' && Number.isSafeInteger(v) && v > 0 ? v : fail(k, `expected a positive integer, got ${JSON.stringify(v)}`));
  const num = (k: string, d: number): number => {
    const v = raw[k] ?? d;
    return typeof v === 'number' && Number.isFinite(v) ? v : fail(k, `expected a number, got ${JSON.stringify(v)}`);
  };
  const triple = (k: string, d: [number, number, number]): [number, number, number] => {
    const v = raw[k] ?? d;
    if (typeof v === 'number') return [v, v, v];
    if (Array.isArray(v) && v.length === 3 && v.every((x) => typeof x === 'number' && Number.isFinite(x))) return v as [number, number, number];
    return fail(k, `expected a number or three numbers, got ${JSON.stringify(v)}`);
  };
  // min_pixels / max_pixels win over size {shortest_edge, longest_edge} (newer exports write both).
  const size = isObj(raw['size']) ? raw['size'] : {};
  const minPixels = posInt(raw['min_pixels'] ?? size['shortest_edge'] ?? size['min_pixels'] ?? 56 * 56, raw['min_pixels'] !== undefined ? 'min_pixels' : 'size.shortest_edge');
  const maxPixels = posInt(raw['max_pixels'] ?? size['longest_edge'] ?? size['max_pixels'] ?? 28 * 28 * 1280, raw['max_pixels'] !== undefined ? 'max_pixels' : 'size.longest_edge');
  if (minPixels > maxPixels) fail('min_pixels', `${minPixels} exceeds max_pixels ${maxPixels}`);
  const r = raw['resample'] ?? 3;
  if (typeof r !== 'number' || !Number.isInteger(r) || r < 0 || r >= PIL_RESAMPLE.length) fail('resample', `expected a Pillow filter code 0..${PIL_RESAMPLE.length - 1}, got ${JSON.stringify(r)}`);
  const mean = triple('image_mean', OPENAI_CLIP_MEAN);
  const std = triple('image_std', OPENAI_CLIP_STD);
  if (std.some((s) => s === 0)) fail('image_std', 'a standard deviation of 0 divides by zero');
  if (!bool('do_convert_rgb', true)) fail('do_convert_rgb', 'false is not supported (images are decoded to RGB)');
  return {
    source,
    doResize: bool('do_resize', true),
    minPixels,
    maxPixels,
    patchSize: posInt(raw['patch_size'] ?? 14, 'patch_size'),
    temporalPatchSize: posInt(raw['temporal_patch_size'] ?? 2, 'temporal_patch_size'),
    mergeSize: posInt(raw['merge_size'] ?? 2, 'merge_size'),
    resample: PIL_RESAMPLE[r as number]!,
    doRescale: bool('do_rescale', true),
    rescaleFactor: num('rescale_factor', 1 / 255),
    doNormalize: bool('do_normalize', true),
    imageMean: mean,
    imageStd: std,
  };
}

export async function loadQwen2VLImageProcessorConfig(dir: string): Promise<Qwen2VLImageProcessorConfig> {
  const file = join(dir, 'preprocessor_config.json');
  const raw = await readJsonFile(file, (reason) => new ImageError(file, `cannot read: ${reason}`));
  return parseQwen2VLImageProcessorConfig(raw, file);
}

/** Python's round() on a float: half to even. */
export function pyRound(x: number): number {
  const f = Math.floor(x);
  const d = x - f;
  if (d > 0.5) return f + 1;
  if (d < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}

/** smart_resize(height, width, factor, min_pixels, max_pixels) -> [height, width], in Python's float arithmetic. */
export function smartResize(height: number, width: number, factor: number, minPixels: number, maxPixels: number, source = 'image'): [number, number] {
  if (Math.max(height, width) / Math.min(height, width) > 200) {
    throw new ImageError(source, `absolute aspect ratio must be smaller than 200, got ${Math.max(height, width) / Math.min(height, width)}`);
  }
  let h = pyRound(height / factor) * factor;
  let w = pyRound(width / factor) * factor;
  if (h * w > maxPixels) {
    const beta = Math.sqrt((height * width) / maxPixels);
    h = Math.max(factor, Math.floor(height / beta / factor) * factor);
    w = Math.max(factor, Math.floor(width / beta / factor) * factor);
  } else if (h * w < minPixels) {
    const beta = Math.sqrt(minPixels / (height * width));
    h = Math.ceil((height * beta) / factor) * factor;
    w = Math.ceil((width * beta) / factor) * factor;
  }
  return [h, w];
}

export interface Qwen2VLPixels {
  /** [sum of t*h*w, 3 * tp * P * P] flattened patches of every image, in order. */
  pixels: PixelBatch & { grids: Array<[number, number, number]> };
}

/** One image's (grid_t, grid_h, grid_w) and its flattened patches. */
export function flattenQwen2VLImage(img: RgbImage, cfg: Qwen2VLImageProcessorConfig, lut = levelTable(cfg)): { grid: [number, number, number]; data: Float32Array } {
  const P = cfg.patchSize;
  const m = cfg.mergeSize;
  const tp = cfg.temporalPatchSize;
  let cur = img;
  if (cfg.doResize) {
    const [h, w] = smartResize(img.height, img.width, P * m, cfg.minPixels, cfg.maxPixels, img.source);
    cur = pilResize(img, w, h, cfg.resample);
  }
  const { width: W, height: H } = cur;
  if (H % (P * m) !== 0 || W % (P * m) !== 0) throw new ImageError(img.source, `${W}x${H} is not a multiple of patch_size * merge_size = ${P * m} (do_resize is false)`);
  const gh = H / P;
  const gw = W / P;
  const row = 3 * tp * P * P;
  const data = new Float32Array(gh * gw * row);
  let o = 0;
  for (let bh = 0; bh < gh / m; bh++)
    for (let bw = 0; bw < gw / m; bw++)
      for (let mh = 0; mh < m; mh++)
        for (let mw = 0; mw < m; mw++) {
          const y0 = (bh * m + mh) * P;
          const x0 = (bw * m + mw) * P;
          for (let c = 0; c < 3; c++)
            for (let t = 0; t < tp; t++) // every temporal slot holds the same image
              for (let py = 0; py < P; py++)
                for (let px = 0; px < P; px++) data[o++] = lut[c * 256 + cur.data[((y0 + py) * W + x0 + px) * 3 + c]!]!;
        }
  return { grid: [1, gh, gw], data };
}

/** The processor's pixel_values and image_grid_thw for a list of images. */
export function preprocessQwen2VL(images: readonly RgbImage[], cfg: Qwen2VLImageProcessorConfig): Qwen2VLPixels {
  const lut = levelTable(cfg);
  const parts = images.map((img) => flattenQwen2VLImage(img, cfg, lut));
  const total = parts.reduce((a, p) => a + p.data.length, 0);
  const data = new Float32Array(total);
  let o = 0;
  for (const p of parts) {
    data.set(p.data, o);
    o += p.data.length;
  }
  const rows = parts.reduce((a, p) => a + p.grid[0] * p.grid[1] * p.grid[2], 0);
  return { pixels: { data, shape: [rows, 3 * cfg.temporalPatchSize, cfg.patchSize, cfg.patchSize], grids: parts.map((p) => p.grid) } };
}
