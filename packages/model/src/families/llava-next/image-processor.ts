// LlavaNextImageProcessor and LlavaOnevisionImageProcessor, the slow (numpy + PIL) path, reproduced bit
// for bit (image_processing_llava_next.py, image_processing_llava_onevision.py; VLM_FAMILIES.md 3.5).
// For each image (uint8 RGB, every resize Pillow's on uint8, pilResize):
//   anyres (LLaVA-NeXT always; OneVision for a prompt with one image):
//     1. best = select_best_resolution((h, w), image_grid_pinpoints);
//     2. resize keeping the aspect to get_patch_output_size(best), centre-pad to best with 0 (black,
//        in uint8, before normalisation; the odd pixel bottom / right);
//     3. cut into tile x tile crops, row-major; the base crop is the ORIGINAL image resized straight to
//        the base size (squashed, not letterboxed), and it comes first: [base, crops...];
//   OneVision multi-image (a prompt with several images: batch_num_images > 1): pad_to_square with
//     the background int(mean * 255) per channel, one crop per image;
//   then every crop: resize (NeXT: shortest_edge, then centre crop; OneVision: to size), rescale
//   (float64 product cast to float32), normalise (float32), channels first.
// The fast (torchvision) processors differ from Pillow by a level here and there; configs naming them
// are read with these (slow) semantics.
import { join } from 'node:path';
import { readJsonFile } from '../../files/read-json.js';
import { OPENAI_CLIP_MEAN, OPENAI_CLIP_STD, type PreprocessorConfig, type ResizeSpec } from '../../image/config.js';
import { MAX_IMAGE_PIXELS } from '../../image/decode.js';
import { ImageError } from '../../image/errors.js';
import { centerCrop, rescaleNormalize, resizeOutputSize } from '../../image/preprocess.js';
import { pilResize } from '../../image/resample.js';
import { PIL_RESAMPLE, type ResampleFilter, type RgbImage } from '../../image/types.js';
import type { PixelBatch } from '../types.js';
import { patchOutputSize, selectBestResolution, type AnyresImage } from './anyres.js';
import { LLAVA_NEXT_DEFAULT_PINPOINTS, LLAVA_ONEVISION_DEFAULT_PINPOINTS, type LlavaNextModelType } from './config.js';

export const LLAVA_NEXT_IMAGE_PROCESSOR_TYPES: readonly string[] = ['LlavaNextImageProcessor', 'LlavaNextImageProcessorFast', 'LlavaNextImageProcessorPil'];
export const LLAVA_ONEVISION_IMAGE_PROCESSOR_TYPES: readonly string[] = ['LlavaOnevisionImageProcessor', 'LlavaOnevisionImageProcessorFast', 'LlavaOnevisionImageProcessorPil'];

export interface AnyresImageProcessorConfig {
  /** The file it was read from (or a description), named in errors. */
  source: string;
  kind: LlavaNextModelType;
  doResize: boolean;
  /** The per-crop resize of _preprocess: NeXT's `size` (shortest edge or exact), OneVision's size tuple (exact). */
  size: ResizeSpec;
  /** (height, width) the base crop is resized to: NeXT (shortest_edge, shortest_edge) or min(h, w) squared; OneVision the size tuple. */
  baseSize: [number, number];
  /** Side of the crops cut from the padded image: NeXT crop_size.height, OneVision the size tuple's height. */
  tile: number;
  imageGridPinpoints: Array<[number, number]>;
  resample: ResampleFilter;
  doCenterCrop: boolean;
  cropSize: { height: number; width: number };
  doRescale: boolean;
  rescaleFactor: number;
  doNormalize: boolean;
  imageMean: [number, number, number];
  imageStd: [number, number, number];
}

type Raw = Record<string, unknown>;
const isObj = (v: unknown): v is Raw => typeof v === 'object' && v !== null && !Array.isArray(v);
const isPosInt = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v > 0;

/** Validates a parsed preprocessor_config.json of either processor and fills the class defaults. */
export function parseAnyresImageProcessorConfig(raw: unknown, kind: LlavaNextModelType, source = 'preprocessor_config.json'): AnyresImageProcessorConfig {
  const fail = (field: string, message: string): never => {
    throw new ImageError(source, `${field}: ${message}`);
  };
  if (!isObj(raw)) return fail('(root)', `must be a JSON object, got ${Array.isArray(raw) ? 'an array' : JSON.stringify(raw)}`);
  const onevision = kind === 'llava_onevision';
  const types = onevision ? LLAVA_ONEVISION_IMAGE_PROCESSOR_TYPES : LLAVA_NEXT_IMAGE_PROCESSOR_TYPES;
  const type = raw.image_processor_type;
  if (type !== undefined && type !== null && !(typeof type === 'string' && types.includes(type))) {
    fail('image_processor_type', `${JSON.stringify(type)} is not a ${onevision ? 'LLaVA-OneVision' : 'LLaVA-NeXT'} image processor (supported: ${types.join(', ')})`);
  }
  const bool = (key: string, dflt: boolean): boolean => {
    const v = raw[key] ?? dflt;
    if (typeof v !== 'boolean') fail(key, `must be true or false, got ${JSON.stringify(v)}`);
    return v as boolean;
  };
  const hw = (v: unknown, key: string): { height: number; width: number } => {
    if (isPosInt(v)) return { height: v, width: v };
    if (isObj(v) && isPosInt(v.height) && isPosInt(v.width)) return { height: v.height, width: v.width };
    return fail(key, `must be a positive integer or {"height": h, "width": w}, got ${JSON.stringify(v)}`);
  };

  // get_size_dict(size, default_to_square=False): an int is a shortest edge.
  const rawSize = raw.size ?? (onevision ? { height: 384, width: 384 } : { shortest_edge: 224 });
  let size: ResizeSpec;
  if (isPosInt(rawSize)) size = { mode: 'shortest_edge', shortestEdge: rawSize };
  else if (isObj(rawSize) && rawSize.shortest_edge !== undefined && rawSize.shortest_edge !== null) {
    if (!isPosInt(rawSize.shortest_edge)) fail('size.shortest_edge', `must be a positive integer, got ${JSON.stringify(rawSize.shortest_edge)}`);
    size = { mode: 'shortest_edge', shortestEdge: rawSize.shortest_edge as number };
  } else if (isObj(rawSize) && (rawSize.height !== undefined || rawSize.width !== undefined)) {
    size = { mode: 'exact', ...hw(rawSize, 'size') };
  } else {
    return fail('size', `must be {"shortest_edge": n} or {"height": h, "width": w}, got ${JSON.stringify(rawSize)}`);
  }
  if (size.mode === 'exact' && size.height !== size.width) {
    fail('size', `${size.height}x${size.width} is not square; the crops of anyres are square (not supported)`);
  }
  const side = size.mode === 'exact' ? size.height : size.shortestEdge;
  const baseSize: [number, number] = [side, side];

  let doCenterCrop = false;
  let cropSize = { height: side, width: side };
  if (onevision) {
    // The slow LlavaOnevisionImageProcessor has no centre crop (its v5 PIL backend would run one).
    if (raw.do_center_crop === true) fail('do_center_crop', 'true is not supported: LlavaOnevisionImageProcessor crops nothing (its PIL backend would)');
    // OneVision's size tuple is exact: a shortest edge n means (n, n), as the processor's size_tuple.
    size = { mode: 'exact', height: side, width: side };
  } else {
    doCenterCrop = bool('do_center_crop', true);
    cropSize = hw(raw.crop_size ?? { height: 224, width: 224 }, 'crop_size');
    if (cropSize.height !== cropSize.width) fail('crop_size', `${cropSize.height}x${cropSize.width} is not square; the crops of anyres are square (not supported)`);
  }
  const tile = onevision ? side : cropSize.height;

  const pinRaw = raw.image_grid_pinpoints;
  let imageGridPinpoints: Array<[number, number]>;
  if (pinRaw === undefined || pinRaw === null) {
    imageGridPinpoints = (onevision ? LLAVA_ONEVISION_DEFAULT_PINPOINTS : LLAVA_NEXT_DEFAULT_PINPOINTS).map(([h, w]) => [h, w]);
  } else {
    if (!Array.isArray(pinRaw) || pinRaw.length === 0 || !pinRaw.every((p) => Array.isArray(p) && p.length === 2 && isPosInt(p[0]) && isPosInt(p[1]))) {
      fail('image_grid_pinpoints', `expected a non-empty list of [height, width] positive integers, got ${JSON.stringify(pinRaw)}`);
    }
    imageGridPinpoints = (pinRaw as [number, number][]).map(([h, w]) => [h, w]);
  }
  const odd = imageGridPinpoints.find(([h, w]) => h % tile !== 0 || w % tile !== 0);
  if (odd) fail('image_grid_pinpoints', `[${odd.join(', ')}] is not a multiple of the crop side ${tile} on both sides (the last row or column of crops would be cut short)`);

  const resampleRaw = raw.resample ?? 3;
  if (!Number.isInteger(resampleRaw) || (resampleRaw as number) < 0 || (resampleRaw as number) >= PIL_RESAMPLE.length) {
    fail('resample', `must be a Pillow filter code 0..5, got ${JSON.stringify(resampleRaw)}`);
  }
  const resample = PIL_RESAMPLE[resampleRaw as number]!;
  if (resample === 'nearest') fail('resample', '0 (NEAREST) is not supported (supported: 1 LANCZOS, 2 BILINEAR, 3 BICUBIC, 4 BOX, 5 HAMMING)');

  const rescaleFactor = raw.rescale_factor ?? 1 / 255;
  if (typeof rescaleFactor !== 'number' || !Number.isFinite(rescaleFactor) || rescaleFactor <= 0) fail('rescale_factor', `must be a positive number, got ${JSON.stringify(rescaleFactor)}`);
  const triple = (key: string, dflt: [number, number, number]): [number, number, number] => {
    const v = raw[key] ?? dflt;
    const ok = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x);
    if (ok(v)) return [v, v, v];
    if (Array.isArray(v) && v.length === 3 && v.every(ok)) return [v[0], v[1], v[2]];
    return fail(key, `must be a number or 3 numbers (one per RGB channel), got ${JSON.stringify(v)}`);
  };
  // Both classes default to OpenAI CLIP's mean and std (OneVision checkpoints write 0.5).
  const imageStd = triple('image_std', OPENAI_CLIP_STD);
  if (imageStd.some((s) => s === 0)) fail('image_std', `${JSON.stringify(imageStd)} has a zero`);

  return {
    source,
    kind,
    doResize: bool('do_resize', true),
    size,
    baseSize,
    tile,
    imageGridPinpoints,
    resample,
    doCenterCrop,
    cropSize,
    doRescale: bool('do_rescale', true),
    rescaleFactor: rescaleFactor as number,
    doNormalize: bool('do_normalize', true),
    imageMean: triple('image_mean', OPENAI_CLIP_MEAN),
    imageStd,
  };
}

/** Reads and validates `dir/preprocessor_config.json`. */
export async function loadAnyresImageProcessorConfig(dir: string, kind: LlavaNextModelType): Promise<AnyresImageProcessorConfig> {
  const file = join(dir, 'preprocessor_config.json');
  const raw = await readJsonFile(file, (reason) => new ImageError(file, `cannot read: ${reason}`));
  return parseAnyresImageProcessorConfig(raw, kind, file);
}

/** The (height, width) of every crop after _preprocess (what the tower gets). */
export function processedCropSize(cfg: AnyresImageProcessorConfig): [number, number] {
  if (cfg.doCenterCrop) return [cfg.cropSize.height, cfg.cropSize.width];
  if (cfg.doResize) return cfg.size.mode === 'exact' ? [cfg.size.height, cfg.size.width] : [cfg.size.shortestEdge, cfg.size.shortestEdge];
  // without resize or crop, a crop stays as cut (tile) and the base as resized (baseSize): equal when square
  return [cfg.tile, cfg.tile];
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

/** `img` pasted into a `width x height` canvas at (left, top), filled with `fill` (per channel) elsewhere. */
function paste(img: RgbImage, width: number, height: number, left: number, top: number, fill: readonly [number, number, number]): RgbImage {
  const out = new Uint8Array(width * height * 3);
  if (fill.some((v) => v !== 0)) for (let i = 0; i < width * height; i++) out.set(fill, i * 3);
  for (let y = 0; y < img.height; y++) out.set(img.data.subarray(y * img.width * 3, (y + 1) * img.width * 3), ((top + y) * width + left) * 3);
  return { width, height, data: out, source: img.source };
}

/** get_image_patches: [base, crops row-major] in uint8 for one image (anyres). */
export function anyresCrops(img: RgbImage, cfg: AnyresImageProcessorConfig): RgbImage[] {
  const best = selectBestResolution(img.height, img.width, cfg.imageGridPinpoints);
  const [newH, newW] = patchOutputSize(img.height, img.width, best);
  const resized = pilResize(img, newW, newH, cfg.resample);
  const [H, W] = best;
  // _pad_for_patching: divmod(target - new, 2): the odd pixel goes to the bottom / right
  const padded = paste(resized, W, H, Math.floor((W - newW) / 2), Math.floor((H - newH) / 2), [0, 0, 0]);
  const S = cfg.tile;
  const crops: RgbImage[] = [pilResize(img, cfg.baseSize[1], cfg.baseSize[0], cfg.resample)];
  for (let y = 0; y < H; y += S) for (let x = 0; x < W; x += S) crops.push(crop(padded, x, y, S));
  return crops;
}

/** pad_to_square with the background int(mean * 255) per channel (OneVision's multi-image view). */
export function padToSquare(img: RgbImage, mean: readonly [number, number, number]): RgbImage {
  if (img.width === img.height) return img;
  const side = Math.max(img.width, img.height);
  const bg: [number, number, number] = [Math.trunc(mean[0] * 255), Math.trunc(mean[1] * 255), Math.trunc(mean[2] * 255)];
  return paste(img, side, side, img.width > img.height ? 0 : Math.floor((side - img.width) / 2), img.width > img.height ? Math.floor((side - img.height) / 2) : 0, bg);
}

/** The rescale / normalise settings as the CLIP processor's config (what rescaleNormalize reads). */
const normalizer = (cfg: AnyresImageProcessorConfig): PreprocessorConfig => ({
  source: cfg.source, processorType: cfg.kind, kind: 'clip', doResize: cfg.doResize, size: cfg.size, resample: cfg.resample,
  doCenterCrop: cfg.doCenterCrop, cropSize: cfg.cropSize, doRescale: cfg.doRescale, rescaleFactor: cfg.rescaleFactor,
  doNormalize: cfg.doNormalize, imageMean: cfg.imageMean, imageStd: cfg.imageStd,
});

/** _preprocess of one crop: resize, centre crop (NeXT), rescale, normalise; channel-first float32. */
function preprocessCrop(img: RgbImage, cfg: AnyresImageProcessorConfig): { data: Float32Array; height: number; width: number } {
  let cur = img;
  if (cfg.doResize) {
    const { width, height } = resizeOutputSize(cur.width, cur.height, cfg.size);
    cur = pilResize(cur, width, height, cfg.resample);
  }
  if (cfg.doCenterCrop) cur = centerCrop(cur, cfg.cropSize.height, cfg.cropSize.width);
  const pv = rescaleNormalize(cur, normalizer(cfg));
  return { data: pv.data, height: cur.height, width: cur.width };
}

/**
 * The processor's pixels for the images of one prompt: every crop of every image in order
 * ([n, 3, S, S]), with each image's original size and crop count. `multiImage` is OneVision's
 * batch_num_images > 1 (one padded view per image); LLaVA-NeXT never sets it.
 */
export function preprocessAnyres(images: readonly RgbImage[], cfg: AnyresImageProcessorConfig, multiImage = false): PixelBatch & { images: AnyresImage[] } {
  if (images.length === 0) throw new ImageError(cfg.source, 'preprocessAnyres needs at least one image');
  if (multiImage && cfg.kind !== 'llava_onevision') throw new ImageError(cfg.source, 'the multi-image view is OneVision\'s; LLaVA-NeXT tiles every image');
  const crops: RgbImage[] = [];
  const info: AnyresImage[] = [];
  for (const img of images) {
    if (img.data.length !== img.width * img.height * 3) {
      throw new ImageError(img.source, `RGB data has ${img.data.length} bytes; ${img.width}x${img.height}x3 needs ${img.width * img.height * 3}`);
    }
    const mine = multiImage ? [padToSquare(img, cfg.imageMean)] : anyresCrops(img, cfg);
    crops.push(...mine);
    info.push({ height: img.height, width: img.width, tiles: mine.length });
  }
  const done = crops.map((c) => preprocessCrop(c, cfg));
  const { height: H, width: W } = done[0]!;
  const odd = done.findIndex((d) => d.height !== H || d.width !== W);
  if (odd >= 0) throw new ImageError(crops[odd]!.source, `a crop preprocesses to ${done[odd]!.width}x${done[odd]!.height} but another to ${W}x${H}; every crop must have one size (enable do_resize)`);
  const size = 3 * H * W;
  const data = new Float32Array(done.length * size);
  done.forEach((d, i) => data.set(d.data, i * size));
  return { data, shape: [done.length, 3, H, W], images: info };
}

/**
 * Pixels an image may have before decoding is refused, before $MTV_MAX_IMAGE_PIXELS: everything is
 * resized to at most the largest pinpoint, so an image over 4096 times its area carries nothing more.
 */
export function anyresPixelNeed(cfg: AnyresImageProcessorConfig): number {
  const area = Math.max(...cfg.imageGridPinpoints.map(([h, w]) => h * w), cfg.baseSize[0] * cfg.baseSize[1]);
  return Math.min(MAX_IMAGE_PIXELS, area * 4096);
}
