// Pillow's convolution resampler (libImaging/Resample.c, described, not copied), reproduced so that
// resizing matches what the transformers image processors do: they resize uint8 images with
// PIL.Image.resize. Separable: a horizontal pass, rounded to uint8, then a vertical pass. Weights are
// computed in float64, normalised to sum 1, then quantised to 22-bit fixed point; each output is
// (sum + 2^21) >> 22 clamped to [0, 255]. When shrinking, the kernel is stretched by the scale (antialiasing).
import { ImageError } from './errors.js';
import type { ResampleFilter, RgbImage } from './types.js';

interface Kernel {
  support: number;
  weight(x: number): number;
}

const sinc = (x: number): number => (x === 0 ? 1 : Math.sin(Math.PI * x) / (Math.PI * x));
// Pillow writes the Hamming constants as C floats (0.54f, 0.46f).
const H0 = Math.fround(0.54);
const H1 = Math.fround(0.46);

const KERNELS: Partial<Record<ResampleFilter, Kernel>> = {
  box: { support: 0.5, weight: (x) => (x > -0.5 && x <= 0.5 ? 1 : 0) },
  bilinear: { support: 1, weight: (x) => Math.max(0, 1 - Math.abs(x)) },
  hamming: {
    support: 1,
    weight: (x) => {
      x = Math.abs(x);
      if (x === 0) return 1;
      if (x >= 1) return 0;
      return (Math.sin(Math.PI * x) / (Math.PI * x)) * (H0 + H1 * Math.cos(Math.PI * x));
    },
  },
  // Keys cubic convolution with a = -0.5 (Catmull-Rom).
  bicubic: {
    support: 2,
    weight: (x) => {
      const a = -0.5;
      x = Math.abs(x);
      if (x < 1) return ((a + 2) * x - (a + 3)) * x * x + 1;
      if (x < 2) return (((x - 5) * x + 8) * x - 4) * a;
      return 0;
    },
  },
  lanczos: { support: 3, weight: (x) => (x >= -3 && x < 3 ? sinc(x) * sinc(x / 3) : 0) },
};

const PRECISION_BITS = 22;
const ONE = 1 << PRECISION_BITS;

/** Per output index: first source index, tap count, and fixed-point taps (`ksize` slots each). */
export interface Coefficients {
  ksize: number;
  first: Int32Array;
  count: Int32Array;
  taps: Int32Array;
}

export function precomputeCoefficients(inSize: number, outSize: number, kernel: Kernel): Coefficients {
  const scale = inSize / outSize;
  const filterScale = Math.max(scale, 1);
  const support = kernel.support * filterScale;
  const ksize = Math.ceil(support) * 2 + 1;
  const first = new Int32Array(outSize);
  const count = new Int32Array(outSize);
  const taps = new Int32Array(outSize * ksize);
  const w = new Float64Array(ksize);
  for (let xx = 0; xx < outSize; xx++) {
    const center = (xx + 0.5) * scale;
    const ss = 1 / filterScale; // Pillow multiplies by the reciprocal; kept for bit parity
    // C casts truncate toward zero.
    const xmin = Math.max(Math.trunc(center - support + 0.5), 0);
    const n = Math.min(Math.trunc(center + support + 0.5), inSize) - xmin;
    let sum = 0;
    for (let x = 0; x < n; x++) {
      w[x] = kernel.weight((x + xmin - center + 0.5) * ss);
      sum += w[x];
    }
    for (let x = 0; x < n; x++) {
      const k = sum !== 0 ? w[x] / sum : w[x];
      taps[xx * ksize + x] = k < 0 ? Math.trunc(-0.5 + k * ONE) : Math.trunc(0.5 + k * ONE);
    }
    first[xx] = xmin;
    count[xx] = n;
  }
  return { ksize, first, count, taps };
}

const clip8 = (acc: number): number => {
  const v = Math.floor(acc / ONE);
  return v < 0 ? 0 : v > 255 ? 255 : v;
};

/** Byte strides of one pass: `line` and `tap` step the source across and along the resampled axis, `outLine` and `outPixel` the output. */
interface PassStrides {
  line: number;
  tap: number;
  outLine: number;
  outPixel: number;
}

/**
 * One separable pass over RGB bytes (Pillow's ImagingResampleHorizontal/Vertical, which differ only in
 * the strides): output pixel j of each of `lines` lines is the fixed-point tap sum over source pixels
 * first[j] .. first[j] + count[j] - 1 of that line, rounded and clipped to uint8.
 */
function resamplePass(src: Uint8Array, out: Uint8Array, lines: number, outSize: number, c: Coefficients, s: PassStrides): Uint8Array {
  for (let l = 0; l < lines; l++) {
    for (let j = 0; j < outSize; j++) {
      let r = ONE / 2, g = ONE / 2, b = ONE / 2;
      const base = j * c.ksize;
      const p0 = l * s.line + c.first[j] * s.tap;
      for (let t = 0; t < c.count[j]; t++) {
        const k = c.taps[base + t];
        const p = p0 + t * s.tap;
        r += src[p] * k;
        g += src[p + 1] * k;
        b += src[p + 2] * k;
      }
      const o = l * s.outLine + j * s.outPixel;
      out[o] = clip8(r);
      out[o + 1] = clip8(g);
      out[o + 2] = clip8(b);
    }
  }
  return out;
}

const horizontal = (src: Uint8Array, w: number, h: number, outW: number, c: Coefficients): Uint8Array =>
  resamplePass(src, new Uint8Array(outW * h * 3), h, outW, c, { line: w * 3, tap: 3, outLine: outW * 3, outPixel: 3 });

const vertical = (src: Uint8Array, w: number, outH: number, c: Coefficients): Uint8Array =>
  resamplePass(src, new Uint8Array(w * outH * 3), w, outH, c, { line: 3, tap: w * 3, outLine: 3, outPixel: w * 3 });

/**
 * Resizes like `PIL.Image.resize((width, height), resample=filter)` on an RGB image. A pass whose size does
 * not change is skipped, so resizing to the same size is the identity, as in Pillow. NEAREST uses a
 * different code path in Pillow and is not reproduced here.
 */
export function pilResize(img: RgbImage, width: number, height: number, filter: ResampleFilter): RgbImage {
  const kernel = KERNELS[filter];
  if (!kernel) throw new ImageError(img.source, `resample filter '${filter}' is not supported (supported: ${Object.keys(KERNELS).join(', ')})`);
  if (!Number.isInteger(width) || !Number.isInteger(height) || width <= 0 || height <= 0) {
    throw new ImageError(img.source, `cannot resize ${img.width}x${img.height} to ${width}x${height}`);
  }
  let data = img.data;
  if (width !== img.width) data = horizontal(data, img.width, img.height, width, precomputeCoefficients(img.width, width, kernel));
  if (height !== img.height) data = vertical(data, width, height, precomputeCoefficients(img.height, height, kernel));
  return { width, height, data: data === img.data ? new Uint8Array(data) : data, source: img.source };
}
