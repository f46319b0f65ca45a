// float64 references of the LayerNorm and RMSNorm backward (forwards in ../norm.ts).
import { refLayerNormRowStats, refRmsRowScale } from '../norm.js';

export interface LayerNormGrads {
  dx: Float64Array;
  dweight: Float64Array;
  dbias: Float64Array;
}

/**
 * xhat = (x - mean) rstd, y = xhat w + b. With g = dy w:
 * dx = rstd (g - mean(g) - xhat mean(g xhat)), dw = sum_rows dy xhat, db = sum_rows dy.
 */
export function refLayerNormBackward(x: ArrayLike<number>, dy: ArrayLike<number>, h: number, weight: ArrayLike<number>, eps: number): LayerNormGrads {
  const dx = new Float64Array(x.length);
  const dweight = new Float64Array(h);
  const dbias = new Float64Array(h);
  const xhat = new Float64Array(h);
  for (let base = 0; base < x.length; base += h) {
    const { mean, rstd } = refLayerNormRowStats(x, base, h, eps);
    let mg = 0;
    let mgx = 0;
    for (let j = 0; j < h; j++) {
      xhat[j] = (x[base + j]! - mean) * rstd;
      const g = dy[base + j]! * weight[j]!;
      mg += g;
      mgx += g * xhat[j]!;
      dweight[j] += dy[base + j]! * xhat[j]!;
      dbias[j] += dy[base + j]!;
    }
    mg /= h;
    mgx /= h;
    for (let j = 0; j < h; j++) dx[base + j] = rstd * (dy[base + j]! * weight[j]! - mg - xhat[j]! * mgx);
  }
  return { dx, dweight, dbias };
}

/** r = 1 / sqrt(mean(x^2) + eps), y = x r w; g = dy w: dx = r (g - x r^2 mean(g x)), dw = sum_rows dy x r. */
export function refRmsNormBackward(x: ArrayLike<number>, dy: ArrayLike<number>, h: number, weight: ArrayLike<number>, eps: number): { dx: Float64Array; dweight: Float64Array } {
  const dx = new Float64Array(x.length);
  const dweight = new Float64Array(h);
  for (let base = 0; base < x.length; base += h) {
    const r = refRmsRowScale(x, base, h, eps);
    let mgx = 0;
    for (let j = 0; j < h; j++) {
      mgx += dy[base + j]! * weight[j]! * x[base + j]!;
      dweight[j] += dy[base + j]! * x[base + j]! * r;
    }
    mgx /= h;
    for (let j = 0; j < h; j++) dx[base + j] = r * (dy[base + j]! * weight[j]! - x[base + j]! * r * r * mgx);
  }
  return { dx, dweight };
}
