import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import {
  OPENAI_CLIP_MEAN,
  OPENAI_CLIP_STD,
  centerCrop,
  decodeImage,
  loadPreprocessorConfig,
  pilResize,
  preprocessImage,
  preprocessImages,
  resizeOutputSize,
  resolvePreprocessorConfig,
  rgbImage,
  type PreprocessorConfig,
  type RgbImage,
} from '../src/image/index.js';
import { useTempDir } from './temp-dir.js';

/** Deterministic pseudo-random image (LCG), every channel different. */
function randomImage(w: number, h: number, seed = 1): RgbImage {
  const d = new Uint8Array(w * h * 3);
  let s = seed >>> 0;
  for (let i = 0; i < d.length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    d[i] = s >>> 24;
  }
  return rgbImage(w, h, d, `random ${w}x${h}`);
}
/** Smooth image (like a photo) with a few edges, for comparing resizers. */
function smoothImage(w: number, h: number): RgbImage {
  const d = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++)
      for (let c = 0; c < 3; c++) {
        const v = 128 + 90 * Math.sin((x + 7 * c) / 9) * Math.cos(y / 13) + (x > w / 2 && y < h / 3 ? 30 : 0);
        d[(y * w + x) * 3 + c] = Math.max(0, Math.min(255, Math.round(v)));
      }
  return rgbImage(w, h, d, `smooth ${w}x${h}`);
}
const px = (img: RgbImage, x: number, y: number, c: number): number => img.data[(y * img.width + x) * 3 + c];

const clip = (extra: Record<string, unknown> = {}): PreprocessorConfig =>
  resolvePreprocessorConfig({ image_processor_type: 'CLIPImageProcessor', size: { shortest_edge: 6 }, crop_size: { height: 6, width: 6 }, ...extra }, 'clip test config');
const siglip = (extra: Record<string, unknown> = {}): PreprocessorConfig =>
  resolvePreprocessorConfig({ image_processor_type: 'SiglipImageProcessor', size: { height: 6, width: 6 }, ...extra }, 'siglip test config');

// ---- float64 references, written independently of src/image ----

function cubic(x: number): number {
  x = Math.abs(x);
  if (x < 1) return 1.5 * x ** 3 - 2.5 * x ** 2 + 1;
  if (x < 2) return -0.5 * x ** 3 + 2.5 * x ** 2 - 4 * x + 2;
  return 0;
}
/** 1-D antialiased bicubic weights for output index o: kernel stretched by max(scale, 1), normalised, window clipped to the input. */
function weights(inSize: number, outSize: number, o: number): [number, number][] {
  const scale = inSize / outSize;
  const fs = Math.max(scale, 1);
  const center = (o + 0.5) * scale;
  const taps: [number, number][] = [];
  for (let i = 0; i < inSize; i++) {
    const w = cubic((i + 0.5 - center) / fs);
    if (w !== 0) taps.push([i, w]);
  }
  const sum = taps.reduce((a, [, w]) => a + w, 0);
  return taps.map(([i, w]) => [i, w / sum]);
}
/** Float64 separable bicubic resize, rounded to uint8 after each pass (as Pillow stores uint8 between passes). */
function refResize(img: RgbImage, w: number, h: number): RgbImage {
  const q = (v: number) => Math.max(0, Math.min(255, Math.round(v)));
  let cur = img;
  if (w !== cur.width) {
    const out = new Uint8Array(w * cur.height * 3);
    for (let x = 0; x < w; x++) {
      const t = weights(cur.width, w, x);
      for (let y = 0; y < cur.height; y++) for (let c = 0; c < 3; c++) out[(y * w + x) * 3 + c] = q(t.reduce((a, [i, k]) => a + k * px(cur, i, y, c), 0));
    }
    cur = { width: w, height: cur.height, data: out, source: img.source };
  }
  if (h !== cur.height) {
    const out = new Uint8Array(w * h * 3);
    for (let y = 0; y < h; y++) {
      const t = weights(cur.height, h, y);
      for (let x = 0; x < w; x++) for (let c = 0; c < 3; c++) out[(y * w + x) * 3 + c] = q(t.reduce((a, [i, k]) => a + k * px(cur, x, i, c), 0));
    }
    cur = { width: w, height: h, data: out, source: img.source };
  }
  return cur;
}
const f64Normalize = (v: number, c: number, mean: readonly number[], std: readonly number[]) => (v / 255 - mean[c]) / std[c];

describe('rescale + normalise (resize and crop are identities)', () => {
  it('CLIP on a 6x6 image equals float64 (v/255 - mean)/std within 1e-6, and numpy float32 bit-exactly', async () => {
    const img = randomImage(6, 6);
    const out = await preprocessImage(img, clip());
    expect(out.shape).toEqual([3, 6, 6]);
    const f = Math.fround;
    let maxErr = 0;
    for (let c = 0; c < 3; c++)
      for (let y = 0; y < 6; y++)
        for (let x = 0; x < 6; x++) {
          const v = px(img, x, y, c);
          const got = out.data[c * 36 + y * 6 + x];
          maxErr = Math.max(maxErr, Math.abs(got - f64Normalize(v, c, OPENAI_CLIP_MEAN, OPENAI_CLIP_STD)));
          // numpy: float32(float64(v) * (1/255)), then (x - float32 mean) / float32 std in float32.
          expect(got).toBe(f(f(f(v * (1 / 255)) - f(OPENAI_CLIP_MEAN[c])) / f(OPENAI_CLIP_STD[c])));
        }
    // float32 rounding of rescale, mean, std, difference and quotient, amplified by 1/std <= 3.83: < 1e-6.
    expect(maxErr).toBeLessThan(1e-6);
  });

  it('SigLIP (mean = std = 0.5) maps 0 -> -1, 255 -> 1 and v -> 2v/255 - 1', async () => {
    const data = new Uint8Array(6 * 6 * 3);
    data[0] = 255;
    data[4] = 128;
    const out = await preprocessImage(rgbImage(6, 6, data, 'levels'), siglip());
    expect(out.data[0]).toBe(1);
    expect(out.data[1]).toBe(-1);
    expect(out.data[36 + 1]).toBeCloseTo((2 * 128) / 255 - 1, 6);
  });

  it('with rescale and normalise off, the output is the pixel values, channel-first (R, G, B planes)', async () => {
    const img = randomImage(6, 6, 7);
    const out = await preprocessImage(img, clip({ do_rescale: false, do_normalize: false }));
    for (let c = 0; c < 3; c++) for (let y = 0; y < 6; y++) for (let x = 0; x < 6; x++) expect(out.data[c * 36 + y * 6 + x]).toBe(px(img, x, y, c));
  });
});

describe('centre crop geometry', () => {
  const coords = (w: number, h: number): RgbImage => {
    const d = new Uint8Array(w * h * 3);
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) d.set([x + 1, y + 1, 100 + x + y * w], (y * w + x) * 3);
    return rgbImage(w, h, d, `coords ${w}x${h}`);
  };

  it('crops [top = floor((H-h)/2), left = floor((W-w)/2)] exactly, odd margins included', async () => {
    const img = coords(12, 9);
    const cfg = clip({ do_resize: false, crop_size: { height: 4, width: 5 }, do_rescale: false, do_normalize: false });
    const out = await preprocessImage(img, cfg);
    expect(out.shape).toEqual([3, 4, 5]);
    // (9-4)/2 = 2.5 -> top 2; (12-5)/2 = 3.5 -> left 3.
    for (let y = 0; y < 4; y++)
      for (let x = 0; x < 5; x++) {
        expect(out.data[y * 5 + x]).toBe(3 + x + 1); // R plane holds source x + 1
        expect(out.data[20 + y * 5 + x]).toBe(2 + y + 1); // G plane holds source y + 1
      }
  });

  it('pads with zeros where the crop is larger than the image (transformers center_crop)', () => {
    const img = coords(3, 2);
    const out = centerCrop(img, 5, 6);
    // top = floor((2-5)/2) = -2, left = floor((3-6)/2) = -2: source rows 0..1 land on output rows 2..3, cols 0..2 on 2..4.
    const r = (x: number, y: number) => out.data[(y * 6 + x) * 3];
    const rows = Array.from({ length: 5 }, (_, y) => Array.from({ length: 6 }, (_, x) => r(x, y)));
    expect(rows).toEqual([
      [0, 0, 0, 0, 0, 0],
      [0, 0, 0, 0, 0, 0],
      [0, 0, 1, 2, 3, 0],
      [0, 0, 1, 2, 3, 0],
      [0, 0, 0, 0, 0, 0],
    ]);
  });
});

describe('resize', () => {
  it('computes the CLIP shortest-edge output size like get_resize_output_image_size', () => {
    const s = { mode: 'shortest_edge' as const, shortestEdge: 336 };
    expect(resizeOutputSize(640, 480, s)).toEqual({ width: 448, height: 336 });
    expect(resizeOutputSize(480, 640, s)).toEqual({ width: 336, height: 448 });
    expect(resizeOutputSize(500, 333, s)).toEqual({ width: 504, height: 336 }); // int(336 * 500 / 333) = int(504.50...)
    expect(resizeOutputSize(100, 100, s)).toEqual({ width: 336, height: 336 });
    expect(resizeOutputSize(640, 480, { mode: 'exact', height: 384, width: 384 })).toEqual({ width: 384, height: 384 });
  });

  it('Pillow-port bicubic is within 1 level of a float64 separable bicubic (down- and up-scaling)', () => {
    for (const [img, w, h] of [
      [randomImage(23, 17, 3), 9, 7],
      [smoothImage(40, 30), 13, 29],
      [randomImage(5, 4, 9), 11, 9],
    ] as const) {
      const got = pilResize(img, w, h, 'bicubic');
      const ref = refResize(img, w, h);
      let maxDiff = 0;
      for (let i = 0; i < got.data.length; i++) maxDiff = Math.max(maxDiff, Math.abs(got.data[i] - ref.data[i]));
      expect(maxDiff, `${img.source} -> ${w}x${h}`).toBeLessThanOrEqual(1);
    }
  });

  it('keeps a constant image constant and is the identity at the same size', () => {
    const flat = rgbImage(17, 11, new Uint8Array(17 * 11 * 3).fill(201), 'flat');
    for (const filter of ['bicubic', 'bilinear', 'lanczos', 'box', 'hamming'] as const) {
      expect(pilResize(flat, 5, 29, filter).data.every((v) => v === 201), filter).toBe(true);
    }
    const img = randomImage(8, 5);
    expect(Array.from(pilResize(img, 8, 5, 'bicubic').data)).toEqual(Array.from(img.data));
    expect(() => pilResize(img, 4, 4, 'nearest')).toThrow(/image random 8x5: resample filter 'nearest' is not supported/);
  });

  it('end to end CLIP (resize 20x14 -> 8x... , crop 8x8) is within one uint8 level of the float64 pipeline', async () => {
    const img = smoothImage(20, 14);
    const cfg = clip({ size: { shortest_edge: 8 }, crop_size: 8 });
    const out = await preprocessImage(img, cfg);
    expect(out.shape).toEqual([3, 8, 8]);
    const { width, height } = resizeOutputSize(20, 14, cfg.size); // 11 x 8
    expect([width, height]).toEqual([11, 8]);
    const cropped = centerCrop(refResize(img, width, height), 8, 8);
    let maxErr = 0;
    for (let c = 0; c < 3; c++)
      for (let i = 0; i < 64; i++) maxErr = Math.max(maxErr, Math.abs(out.data[c * 64 + i] - f64Normalize(cropped.data[i * 3 + c], c, OPENAI_CLIP_MEAN, OPENAI_CLIP_STD)));
    // One uint8 level is 1/255/std <= 0.0146 after normalisation.
    expect(maxErr).toBeLessThanOrEqual(1 / 255 / Math.min(...OPENAI_CLIP_STD) + 1e-6);
  });

  it('sharp (libvips) bicubic downscaling stays within a few levels of the Pillow port (measured, not bit-exact)', async () => {
    const img = smoothImage(200, 150);
    const cfg = clip({ size: { shortest_edge: 48 }, crop_size: 48, do_rescale: false, do_normalize: false });
    const pil = await preprocessImage(img, cfg);
    const vips = await preprocessImage(img, cfg, { resizer: 'sharp' });
    expect(vips.shape).toEqual(pil.shape);
    let max = 0, sum = 0;
    for (let i = 0; i < pil.data.length; i++) {
      const d = Math.abs(pil.data[i] - vips.data[i]);
      max = Math.max(max, d);
      sum += d;
    }
    console.log(`sharp vs Pillow-port bicubic, 200x150 -> 64x48 -> crop 48: max |diff| ${max} levels, mean ${(sum / pil.data.length).toFixed(3)}`);
    // Measured here: max 1, mean 0.10. Downscaling only; enlarging differs far more (see sharp-resize.ts).
    expect(sum / pil.data.length).toBeLessThan(0.5);
    expect(max).toBeLessThanOrEqual(3);
  });
});

describe('batches and decode + preprocess', () => {
  it('stacks images into [n, 3, H, W] and rejects mixed sizes', async () => {
    const cfg = siglip();
    const batch = await preprocessImages([randomImage(9, 4, 1), randomImage(5, 12, 2)], cfg);
    expect(batch.shape).toEqual([2, 3, 6, 6]);
    const second = await preprocessImage(randomImage(5, 12, 2), cfg);
    expect(Array.from(batch.data.subarray(108))).toEqual(Array.from(second.data));
    await expect(preprocessImages([randomImage(6, 6, 1), randomImage(7, 6, 2)], siglip({ do_resize: false }))).rejects.toThrow(/image random 7x6: preprocessed to \[3, 6, 7\]/);
  });

  it('a PNG decoded from disk preprocesses exactly like the raw pixels', async () => {
    const img = randomImage(10, 8, 5);
    const png = await sharp(img.data, { raw: { width: 10, height: 8, channels: 3 } }).png().toBuffer();
    const a = await preprocessImage(await decodeImage(png), clip());
    const b = await preprocessImage(img, clip());
    expect(Array.from(a.data)).toEqual(Array.from(b.data));
  });
});

describe('preprocessor config', () => {
  let dir: string;
  useTempDir('mtv-pre-', (d) => (dir = d));

  it('loads a llava-1.5 style CLIP config (values as listed in VLM_FORMATS.md 5.1)', async () => {
    await writeFile(
      join(dir, 'preprocessor_config.json'),
      JSON.stringify({
        crop_size: { height: 336, width: 336 }, do_center_crop: true, do_convert_rgb: true, do_normalize: true, do_rescale: true, do_resize: true,
        image_mean: OPENAI_CLIP_MEAN, image_std: OPENAI_CLIP_STD, image_processor_type: 'CLIPImageProcessor', processor_class: 'LlavaProcessor',
        resample: 3, rescale_factor: 0.00392156862745098, size: { shortest_edge: 336 },
      }),
    );
    const cfg = await loadPreprocessorConfig(dir);
    expect(cfg).toMatchObject({ kind: 'clip', size: { mode: 'shortest_edge', shortestEdge: 336 }, cropSize: { height: 336, width: 336 }, resample: 'bicubic', doCenterCrop: true });
    const out = await preprocessImage(smoothImage(64, 48), cfg);
    expect(out.shape).toEqual([3, 336, 336]);
  });

  it('fills defaults and reads the several size forms', () => {
    const s = resolvePreprocessorConfig({ image_processor_type: 'SiglipImageProcessor' });
    expect(s).toMatchObject({ size: { mode: 'exact', height: 224, width: 224 }, imageMean: [0.5, 0.5, 0.5], imageStd: [0.5, 0.5, 0.5], doCenterCrop: false, rescaleFactor: 1 / 255 });
    expect(resolvePreprocessorConfig({ image_processor_type: 'SiglipImageProcessor', size: 384 }).size).toEqual({ mode: 'exact', height: 384, width: 384 });
    expect(resolvePreprocessorConfig({ feature_extractor_type: 'CLIPFeatureExtractor', size: 224, crop_size: 224 })).toMatchObject({
      size: { mode: 'shortest_edge', shortestEdge: 224 }, cropSize: { height: 224, width: 224 }, imageMean: OPENAI_CLIP_MEAN,
    });
    expect(resolvePreprocessorConfig({ image_processor_type: 'CLIPImageProcessorFast', size: [10, 20], image_mean: 0.5 })).toMatchObject({
      size: { mode: 'exact', height: 10, width: 20 }, imageMean: [0.5, 0.5, 0.5],
    });
  });

  it('rejects bad configs naming the source and field', async () => {
    const bad = (raw: unknown) => () => resolvePreprocessorConfig(raw, 'pp.json');
    expect(bad({ image_processor_type: 'Idefics3ImageProcessor' })).toThrow(/image pp\.json: image_processor_type 'Idefics3ImageProcessor' is not supported/);
    expect(bad({})).toThrow(/pp\.json: has no image_processor_type/);
    expect(bad({ image_processor_type: 'CLIPImageProcessor', image_mean: [0.5, 0.5] })).toThrow(/image_mean must be a number or 3 numbers/);
    expect(bad({ image_processor_type: 'CLIPImageProcessor', image_std: [1, 0, 1] })).toThrow(/image_std \[1,0,1\] has a zero/);
    expect(bad({ image_processor_type: 'CLIPImageProcessor', size: { longest_edge: 3 } })).toThrow(/size must be a positive int/);
    expect(bad({ image_processor_type: 'SiglipImageProcessor', size: { shortest_edge: 3 } })).toThrow(/needs size \{height, width\}/);
    expect(bad({ image_processor_type: 'CLIPImageProcessor', resample: 9 })).toThrow(/resample must be a Pillow filter code/);
    expect(bad({ image_processor_type: 'CLIPImageProcessor', do_resize: 'yes' })).toThrow(/do_resize must be true or false/);
    await expect(loadPreprocessorConfig(join(dir, 'nope'))).rejects.toThrow(`image ${join(dir, 'nope', 'preprocessor_config.json')}: not found`);
  });
});
