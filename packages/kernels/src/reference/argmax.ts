// float64 reference for argmax over the last dimension: the first index of the maximum (torch's tie rule).

export function refArgmax(x: ArrayLike<number>, n: number): Int32Array {
  const rows = x.length / n;
  const out = new Int32Array(rows);
  for (let r = 0; r < rows; r++) {
    let best = 0;
    for (let j = 1; j < n; j++) if (x[r * n + j]! > x[r * n + best]!) best = j;
    out[r] = best;
  }
  return out;
}
