// float64 references for the matmul-shaped backward pieces: gemm with transposes, column sums,
// and the linear forward they differentiate.

/** C[M, N] = op(A) · op(B) (+ acc); A stored [M, K] or [K, M] (transA), B [K, N] or [N, K] (transB). */
export function refGemm(a: ArrayLike<number>, b: ArrayLike<number>, m: number, n: number, k: number, transA = false, transB = false, acc?: ArrayLike<number>): Float64Array {
  const c = acc ? Float64Array.from(acc) : new Float64Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let t = 0; t < k; t++) s += a[transA ? t * m + i : i * k + t]! * b[transB ? j * k + t : t * n + j]!;
      c[i * n + j] += s;
    }
  }
  return c;
}

/** y[M, N] = x[M, K] · w[N, K]ᵀ + bias[N] (the forward of a linear layer). */
export function refLinear(x: ArrayLike<number>, w: ArrayLike<number>, bias: ArrayLike<number> | null, m: number, n: number, k: number): Float64Array {
  const y = refGemm(x, w, m, n, k, false, true);
  if (bias) for (let i = 0; i < m * n; i++) y[i] += bias[i % n]!;
  return y;
}

/** out[n] = sum_m x[m, n] (+ acc[n]). */
export function refColSum(x: ArrayLike<number>, rows: number, n: number, acc?: ArrayLike<number>): Float64Array {
  const out = acc ? Float64Array.from(acc) : new Float64Array(n);
  for (let r = 0; r < rows; r++) for (let j = 0; j < n; j++) out[j] += x[r * n + j]!;
  return out;
}
