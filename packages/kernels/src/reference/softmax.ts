// float64 references for softmax and log-softmax over the last dimension of [rows, n] data.

function rowLogSumExp(x: ArrayLike<number>, base: number, n: number): number {
  let m = -Infinity;
  for (let j = 0; j < n; j++) m = Math.max(m, x[base + j]!);
  let s = 0;
  for (let j = 0; j < n; j++) s += Math.exp(x[base + j]! - m);
  return m + Math.log(s);
}

export function refSoftmax(x: ArrayLike<number>, n: number): Float64Array {
  const out = new Float64Array(x.length);
  for (let base = 0; base < x.length; base += n) {
    const lse = rowLogSumExp(x, base, n);
    for (let j = 0; j < n; j++) out[base + j] = Math.exp(x[base + j]! - lse);
  }
  return out;
}

export function refLogSoftmax(x: ArrayLike<number>, n: number): Float64Array {
  const out = new Float64Array(x.length);
  for (let base = 0; base < x.length; base += n) {
    const lse = rowLogSumExp(x, base, n);
    for (let j = 0; j < n; j++) out[base + j] = x[base + j]! - lse;
  }
  return out;
}

/** log(sum_j exp(x[row, j])) for one row of [rows, n] data. */
export function refLogSumExp(x: ArrayLike<number>, n: number, row: number): number {
  return rowLogSumExp(x, row * n, n);
}
