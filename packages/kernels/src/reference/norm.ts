// float64 references for LayerNorm (PyTorch: biased variance) and RMSNorm (Llama / Qwen2).

/** y = (x - mean) / sqrt(var + eps) * weight + bias over each row of h values. */
export function refLayerNorm(x: ArrayLike<number>, h: number, weight: ArrayLike<number>, bias: ArrayLike<number>, eps: number): Float64Array {
  const out = new Float64Array(x.length);
  for (let base = 0; base < x.length; base += h) {
    let mean = 0;
    for (let j = 0; j < h; j++) mean += x[base + j]!;
    mean /= h;
    let v = 0;
    for (let j = 0; j < h; j++) v += (x[base + j]! - mean) ** 2;
    const rstd = 1 / Math.sqrt(v / h + eps);
    for (let j = 0; j < h; j++) out[base + j] = (x[base + j]! - mean) * rstd * weight[j]! + bias[j]!;
  }
  return out;
}

/** y = x / sqrt(mean(x^2) + eps) * weight over each row of h values. */
export function refRmsNorm(x: ArrayLike<number>, h: number, weight: ArrayLike<number>, eps: number): Float64Array {
  const out = new Float64Array(x.length);
  for (let base = 0; base < x.length; base += h) {
    let ss = 0;
    for (let j = 0; j < h; j++) ss += x[base + j]! ** 2;
    const r = 1 / Math.sqrt(ss / h + eps);
    for (let j = 0; j < h; j++) out[base + j] = x[base + j]! * r * weight[j]!;
  }
  return out;
}
