// float64 reference of matmul: y[m, n] = sum_k x[m, k] · w[n, k] (+ bias[n]) (nn.Linear).
// For f16 weights, pass the f16-rounded values (roundToF16) so only the kernel's f32
// accumulation error is measured.

export function refMatmul(x: ArrayLike<number>, w: ArrayLike<number>, bias: ArrayLike<number> | null, m: number, n: number, k: number): Float64Array {
  if (x.length !== m * k) throw new RangeError(`refMatmul: x has ${x.length} elements, expected M·K = ${m}·${k}`);
  if (w.length !== n * k) throw new RangeError(`refMatmul: w has ${w.length} elements, expected N·K = ${n}·${k}`);
  if (bias && bias.length !== n) throw new RangeError(`refMatmul: bias has ${bias.length} elements, expected N = ${n}`);
  const y = new Float64Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = bias ? bias[j]! : 0;
      for (let kk = 0; kk < k; kk++) s += x[i * k + kk]! * w[j * k + kk]!;
      y[i * n + j] = s;
    }
  }
  return y;
}
