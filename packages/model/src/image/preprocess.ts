// CLIPImageProcessor / SiglipImageProcessor (the "slow" numpy+PIL classes): convert to RGB, resize
// (uint8, Pillow filter), centre crop (CLIP), rescale, normalise, channels first.
import { ImageError } from './errors.js';
import type { PreprocessorConfig, ResizeSpec } from './config.js';
import { pilResize } from './resample.js';
import { sharpResize } from './sharp-resize.js';
import type { RgbImage } from './types.js';

/** Model input for one image: float32, channel-first [3, height, width], R then G then B planes. */
export interface PixelValues {
  data: Float32Array;
  shape: [3, number, number];
}

export interface PreprocessOptions {
  /**
   * 'pil' (default): the JS port of Pillow's resampler (same weights, 22-bit fixed point and rounding as
   *   Pillow, so meant to be bit-identical to the transformers processors; checked here against a float64
   *   resampler to within 1 level, not against Pillow itself, which this machine lacks).
   * 'sharp': libvips via sharp, much faster on large photos; within 2 levels when shrinking, far off when
   *   enlarging (see sharp-resize.ts).
   */
  resizer?: 'pil' | 'sharp';
}

/** Output (width, height) of the resize step (transformers get_resize_output_image_size). */
export function resizeOutputSize(width: number, height: number, spec: ResizeSpec): { width: number; height: number } {
  if (spec.mode === 'exact') return { width: spec.width, height: spec.height };
  const short = Math.min(width, height);
  const long = Math.max(width, height);
  const newShort = spec.shortestEdge;
  const newLong = Math.trunc((newShort * long) / short); // Python int() of a float quotient
  return width <= height ? { width: newShort, height: newLong } : { width: newLong, height: newShort };
}

/**
 * transformers center_crop: top = floor((H - cropH) / 2), left = floor((W - cropW) / 2); where the crop
 * reaches outside the image (image smaller than the crop) the pixels are 0.
 */
export function centerCrop(img: RgbImage, cropHeight: number, cropWidth: number): RgbImage {
  const top = Math.floor((img.height - cropHeight) / 2);
  const left = Math.floor((img.width - cropWidth) / 2);
  const out = new Uint8Array(cropHeight * cropWidth * 3);
  for (let oy = 0; oy < cropHeight; oy++) {
    const sy = top + oy;
    if (sy < 0 || sy >= img.height) continue;
    for (let ox = 0; ox < cropWidth; ox++) {
      const sx = left + ox;
      if (sx < 0 || sx >= img.width) continue;
      const s = (sy * img.width + sx) * 3;
      const o = (oy * cropWidth + ox) * 3;
      out[o] = img.data[s];
      out[o + 1] = img.data[s + 1];
      out[o + 2] = img.data[s + 2];
    }
  }
  return { width: cropWidth, height: cropHeight, data: out, source: img.source };
}

/** What rescale and normalise depend on (every family's image processor config has these fields). */
export interface LevelSettings {
  doRescale: boolean;
  rescaleFactor: number;
  doNormalize: boolean;
  imageMean: readonly number[];
  imageStd: readonly number[];
}

/**
 * Per channel, the value of each of the 256 input levels after rescale and normalise [3 * 256], with
 * numpy's dtypes: rescale float32(float64(v) * factor), normalise (x - f32(mean)) / f32(std) in float32.
 * Shared by every family's image processor.
 */
export function levelTable(cfg: LevelSettings): Float32Array {
  const f = Math.fround;
  const lut = new Float32Array(3 * 256);
  for (let c = 0; c < 3; c++) {
    const mean = f(cfg.imageMean[c]!);
    const std = f(cfg.imageStd[c]!);
    for (let v = 0; v < 256; v++) {
      let x = cfg.doRescale ? f(v * cfg.rescaleFactor) : v;
      if (cfg.doNormalize) x = f(f(x - mean) / std);
      lut[c * 256 + v] = x;
    }
  }
  return lut;
}

/**
 * Rescale and normalise into channel-first float32, reproducing numpy's float32 arithmetic in the
 * processors: rescale is computed in float64 and cast to float32; normalise is (x - mean) / std with
 * x, mean, std and each intermediate result in float32.
 */
export function rescaleNormalize(img: RgbImage, cfg: PreprocessorConfig): PixelValues {
  const { width: w, height: h } = img;
  const plane = w * h;
  const data = new Float32Array(3 * plane);
  // Per channel, a table over the 256 input levels: exactly the per-pixel result, computed once.
  const lut = levelTable(cfg);
  for (let i = 0; i < plane; i++) {
    data[i] = lut[img.data[i * 3]];
    data[plane + i] = lut[256 + img.data[i * 3 + 1]];
    data[2 * plane + i] = lut[512 + img.data[i * 3 + 2]];
  }
  return { data, shape: [3, h, w] };
}

/** The processor's pipeline on one decoded image. */
export async function preprocessImage(img: RgbImage, cfg: PreprocessorConfig, options: PreprocessOptions = {}): Promise<PixelValues> {
  if (img.data.length !== img.width * img.height * 3) {
    throw new ImageError(img.source, `RGB data has ${img.data.length} bytes; ${img.width}x${img.height}x3 needs ${img.width * img.height * 3}`);
  }
  let cur = img;
  if (cfg.doResize) {
    const { width, height } = resizeOutputSize(cur.width, cur.height, cfg.size);
    cur = options.resizer === 'sharp' ? await sharpResize(cur, width, height, cfg.resample) : pilResize(cur, width, height, cfg.resample);
  }
  if (cfg.doCenterCrop) cur = centerCrop(cur, cfg.cropSize.height, cfg.cropSize.width);
  return rescaleNormalize(cur, cfg);
}

/** Several images into one batch [n, 3, H, W]; all must come out the same size. */
export async function preprocessImages(
  imgs: readonly RgbImage[],
  cfg: PreprocessorConfig,
  options: PreprocessOptions = {},
): Promise<{ data: Float32Array; shape: [number, 3, number, number] }> {
  if (imgs.length === 0) throw new ImageError(cfg.source, 'preprocessImages needs at least one image');
  const each: PixelValues[] = [];
  for (const img of imgs) each.push(await preprocessImage(img, cfg, options));
  const [, h, w] = each[0].shape;
  each.forEach((p, i) => {
    if (p.shape[1] !== h || p.shape[2] !== w) {
      throw new ImageError(imgs[i].source, `preprocessed to [3, ${p.shape[1]}, ${p.shape[2]}] but image 0 gave [3, ${h}, ${w}]; a batch needs one size (enable resize or centre crop)`);
    }
  });
  const data = new Float32Array(each.length * 3 * h * w);
  each.forEach((p, i) => data.set(p.data, i * 3 * h * w));
  return { data, shape: [each.length, 3, h, w] };
}
