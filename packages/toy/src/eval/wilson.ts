// 95 % Wilson score interval of a binomial proportion (better than the normal interval near 0 and 1).

export interface Proportion {
  k: number;
  n: number;
  p: number;
  lo: number;
  hi: number;
}

export function wilson(k: number, n: number, z = 1.959963984540054): Proportion {
  if (!Number.isInteger(k) || !Number.isInteger(n) || n < 0 || k < 0 || k > n) throw new RangeError(`wilson: need integers 0 <= k <= n, got k=${k}, n=${n}`);
  if (n === 0) return { k, n, p: NaN, lo: 0, hi: 1 };
  const p = k / n;
  const z2 = z * z;
  const denom = 1 + z2 / n;
  const centre = (p + z2 / (2 * n)) / denom;
  const half = (z * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n))) / denom;
  return { k, n, p, lo: Math.max(0, centre - half), hi: Math.min(1, centre + half) };
}
