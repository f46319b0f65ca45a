// float64 references for LayerNorm (PyTorch: biased variance) and RMSNorm (Llama / Qwen2).

/** mean and rstd = 1 / sqrt(var + eps) (biased variance, two passes) of the row x[base, base + h). */
export function refLayerNormRowStats(x: ArrayLike<number>, base: number, h: number, eps: number): { mean: number; rstd: number } {
  let mean = 0;
  for (let j = 0; j < h; j++) mean += x[base + j]!;
  mean /= h;
  let v = 0;
  for (let j = 0; j < h; j++) v += (x[base + j]! - mean) ** 2;
  return { mean, rstd: 1 / Math.sqrt(v / h + eps) };
}

/** r = 1 / sqrt(mean(x^2) + eps) of the row x[base, base + h). */
export function refRmsRowScale(x: ArrayLike<number>, base: number, h: number, eps: number): number {
  let ss = 0;
  for (let j = 0; j < h; j++) ss += x[base + j]! ** 2;
  return 1 / Math.sqrt(ss / h + eps);
}

/** y = (x - mean) / sqrt(var + eps) * weight + bias over each row of h values. */
export function refLayerNorm(x: ArrayLike<number>, h: number, weight: ArrayLike<number>, bias: ArrayLike<number>, eps: number): Float64Array {
  const out = new Float64Array(x.length);
  for (let base = 0; base < x.length; base += h) {
    const { mean, rstd } = refLayerNormRowStats(x, base, h, eps);
    for (let j = 0; j < h; j++) out[base + j] = (x[base + j]! - mean) * rstd * weight[j]! + bias[j]!;
  }
  return out;
}

/** y = x / sqrt(mean(x^2) + eps) * weight over each row of h values. */
export function refRmsNorm(x: ArrayLike<number>, h: number, weight: ArrayLike<number>, eps: number): Float64Array {
  const out = new Float64Array(x.length);
  for (let base = 0; base < x.length; base += h) {
    const r = refRmsRowScale(x, base, h, eps);
    for (let j = 0; j < h; j++) out[base + j] = x[base + j]! * r * weight[j]!;
  }
  return out;
}
