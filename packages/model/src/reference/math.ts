// float64 building blocks of the reference forward. Matrices are row-major Float64Arrays; a weight W
// of an nn.Linear is [out, in] and y = x Wᵀ + b.
import { refOps } from '@mtv/kernels/reference';
import type { Activation } from '../config/types.js';

const ACT: Record<Activation, (x: number) => number> = {
  gelu: refOps.gelu, // exact erf GELU
  gelu_pytorch_tanh: refOps.gelu_tanh,
  quick_gelu: refOps.quick_gelu, // x * sigmoid(1.702 x)
  silu: refOps.silu,
};

export function activate(act: Activation, x: Float64Array): Float64Array {
  const f = ACT[act];
  return x.map(f);
}

/** y[n, out] = x[n, in] · Wᵀ + b. */
export function linear(x: Float64Array, n: number, W: Float64Array, out: number, b?: Float64Array): Float64Array {
  const inDim = x.length / n;
  const y = new Float64Array(n * out);
  for (let r = 0; r < n; r++) {
    for (let o = 0; o < out; o++) {
      let s = b ? b[o]! : 0;
      for (let k = 0; k < inDim; k++) s += x[r * inDim + k]! * W[o * inDim + k]!;
      y[r * out + o] = s;
    }
  }
  return y;
}

/** LayerNorm over the last dim: (x - mean) / sqrt(var + eps) · w + b, biased variance. */
export function layerNorm(x: Float64Array, d: number, w: Float64Array, b: Float64Array, eps: number): Float64Array {
  const y = new Float64Array(x.length);
  for (let r = 0; r < x.length / d; r++) {
    let mean = 0;
    for (let k = 0; k < d; k++) mean += x[r * d + k]!;
    mean /= d;
    let v = 0;
    for (let k = 0; k < d; k++) v += (x[r * d + k]! - mean) ** 2;
    const inv = 1 / Math.sqrt(v / d + eps);
    for (let k = 0; k < d; k++) y[r * d + k] = (x[r * d + k]! - mean) * inv * w[k]! + b[k]!;
  }
  return y;
}

/** RMSNorm over the last dim: w · x / sqrt(mean(x²) + eps). */
export function rmsNorm(x: Float64Array, d: number, w: Float64Array, eps: number): Float64Array {
  const y = new Float64Array(x.length);
  for (let r = 0; r < x.length / d; r++) {
    let ms = 0;
    for (let k = 0; k < d; k++) ms += x[r * d + k]! ** 2;
    const inv = 1 / Math.sqrt(ms / d + eps);
    for (let k = 0; k < d; k++) y[r * d + k] = w[k]! * x[r * d + k]! * inv;
  }
  return y;
}

/** In-place softmax of scores[0, n). */
export function softmaxInPlace(scores: Float64Array, n = scores.length): void {
  let max = -Infinity;
  for (let i = 0; i < n; i++) max = Math.max(max, scores[i]!);
  let sum = 0;
  for (let i = 0; i < n; i++) sum += scores[i] = Math.exp(scores[i]! - max);
  for (let i = 0; i < n; i++) scores[i]! /= sum;
}

export function addInPlace(a: Float64Array, b: Float64Array): Float64Array {
  for (let i = 0; i < a.length; i++) a[i]! += b[i]!;
  return a;
}
