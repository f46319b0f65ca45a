// Deterministic k-means (k-means++ seeding from a keyed PRNG stream, then Lloyd iterations in float64)
// over one location's kept activations. The points come in round order, so the centres depend only on
// the set of kept rounds and the seed, never on how the rounds were split across workers.
import { Prng } from '../sampling/prng.js';

export interface KMeansOptions {
  readonly seed: number | string;
  /** Label of the PRNG stream (e.g. the location). */
  readonly stream: string | number;
  readonly iterations?: number;
}

const dist2 = (a: ArrayLike<number>, b: ArrayLike<number>, D: number): number => {
  let s = 0;
  for (let d = 0; d < D; d++) {
    const x = a[d]! - b[d]!;
    s += x * x;
  }
  return s;
};

/** C centres [C, D] of `points` (each of length D). Refuses C > points. Empty clusters keep their centre. */
export function kmeans(points: readonly Float32Array[], clusters: number, opts: KMeansOptions): Float32Array {
  const n = points.length;
  if (!Number.isInteger(clusters) || clusters <= 0) throw new Error(`k-means: clusters must be a positive integer, got ${clusters}`);
  if (clusters > n) throw new Error(`k-means: clusters C = ${clusters} is larger than the ${n} activation rounds to cluster; lower --clusters or add rounds`);
  const D = points[0]!.length;
  const rng = Prng.derive(opts.seed, 'kmeans', opts.stream);
  // k-means++: first centre uniform, then proportional to the squared distance to the nearest centre.
  const centres: Float64Array[] = [Float64Array.from(points[rng.int(n)]!)];
  const nearest = points.map((p) => dist2(p, centres[0]!, D));
  while (centres.length < clusters) {
    const total = nearest.reduce((a, b) => a + b, 0);
    let pick = -1;
    if (total > 0) {
      let u = rng.nextFloat() * total;
      for (let i = 0; i < n; i++) {
        u -= nearest[i]!;
        if (u < 0) {
          pick = i;
          break;
        }
      }
      if (pick < 0) for (let i = n - 1; i >= 0 && pick < 0; i--) if (nearest[i]! > 0) pick = i;
    } else pick = rng.int(n); // every point already coincides with a centre: duplicates are allowed
    const c = Float64Array.from(points[pick]!);
    centres.push(c);
    for (let i = 0; i < n; i++) nearest[i] = Math.min(nearest[i]!, dist2(points[i]!, c, D));
  }
  const assign = new Int32Array(n).fill(-1);
  for (let it = 0; it < (opts.iterations ?? 25); it++) {
    let changed = false;
    for (let i = 0; i < n; i++) {
      let best = 0;
      let bestD = Infinity;
      for (let c = 0; c < clusters; c++) {
        const d = dist2(points[i]!, centres[c]!, D);
        if (d < bestD) {
          bestD = d;
          best = c;
        }
      }
      if (assign[i] !== best) changed = true;
      assign[i] = best;
    }
    if (!changed) break;
    const sums = Array.from({ length: clusters }, () => new Float64Array(D));
    const counts = new Int32Array(clusters);
    for (let i = 0; i < n; i++) {
      const s = sums[assign[i]!]!;
      for (let d = 0; d < D; d++) s[d] += points[i]![d]!;
      counts[assign[i]!]++;
    }
    for (let c = 0; c < clusters; c++) if (counts[c]! > 0) centres[c] = sums[c]!.map((v) => v / counts[c]!);
  }
  const out = new Float32Array(clusters * D);
  centres.forEach((c, k) => out.set(c, k * D));
  return out;
}
