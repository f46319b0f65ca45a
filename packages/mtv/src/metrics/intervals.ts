// 95% intervals for reported scores.
//  - Proportions (exact match, option accuracy): Wilson score interval, which stays inside [0, 1]
//    and behaves at 0/n and n/n where the normal (Wald) interval collapses.
//  - Means of bounded scores (VQA accuracy takes values in {0, 0.1, ..., 1}): the normal interval
//    mean +- z * s / sqrt(n) with the sample standard deviation (n - 1), clipped to [0, 1]; and a
//    seeded percentile bootstrap for small n or skewed scores.
import { Prng } from '../sampling/prng.js';

export interface Interval {
  readonly estimate: number;
  readonly lower: number;
  readonly upper: number;
  readonly n: number;
  readonly method: 'wilson' | 'normal' | 'bootstrap';
}

/** Two-sided 95% standard normal quantile. */
export const Z95 = 1.959963984540054;

export function wilsonInterval(successes: number, n: number, z = Z95): Interval {
  if (!Number.isInteger(n) || n <= 0) throw new Error(`wilsonInterval: n must be a positive integer, got ${n}`);
  if (!(successes >= 0 && successes <= n)) throw new Error(`wilsonInterval: successes ${successes} outside [0, ${n}]`);
  const p = successes / n;
  const z2 = z * z;
  const denom = 1 + z2 / n;
  const centre = (p + z2 / (2 * n)) / denom;
  const half = (z / denom) * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n));
  return { estimate: p, lower: Math.max(0, centre - half), upper: Math.min(1, centre + half), n, method: 'wilson' };
}

const mean = (xs: ArrayLike<number>): number => {
  let s = 0;
  for (let i = 0; i < xs.length; i++) s += xs[i];
  return s / xs.length;
};

export function normalMeanInterval(scores: ArrayLike<number>, z = Z95): Interval {
  const n = scores.length;
  if (n === 0) throw new Error('normalMeanInterval: no scores');
  const m = mean(scores);
  if (n === 1) return { estimate: m, lower: 0, upper: 1, n, method: 'normal' }; // no spread estimate from one score
  let ss = 0;
  for (let i = 0; i < n; i++) ss += (scores[i] - m) ** 2;
  const half = z * Math.sqrt(ss / (n - 1) / n);
  return { estimate: m, lower: Math.max(0, m - half), upper: Math.min(1, m + half), n, method: 'normal' };
}

/** Percentile bootstrap of the mean; deterministic for a seed. */
export function bootstrapMeanInterval(scores: ArrayLike<number>, opts: { resamples?: number; seed?: number | string } = {}): Interval {
  const n = scores.length;
  if (n === 0) throw new Error('bootstrapMeanInterval: no scores');
  const B = opts.resamples ?? 2000;
  const rng = Prng.derive(opts.seed ?? 0, 'bootstrap');
  const means = new Float64Array(B);
  for (let b = 0; b < B; b++) {
    let s = 0;
    for (let i = 0; i < n; i++) s += scores[rng.int(n)];
    means[b] = s / n;
  }
  means.sort();
  const q = (f: number): number => means[Math.min(B - 1, Math.max(0, Math.floor(f * B)))];
  return { estimate: mean(scores), lower: q(0.025), upper: q(0.975), n, method: 'bootstrap' };
}
