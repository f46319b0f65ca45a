// The random baseline: a seeded random ranking of the heads (a uniform permutation), so "K random
// heads" is its first K, with K given or chosen on the validation grid like the sensitivity ranking.
import { Prng } from '../sampling/prng.js';

export function randomRanking(layers: number, heads: number, seed: number | string): number[] {
  return Prng.derive(seed, 'random-heads').sampleIndices(layers * heads, layers * heads);
}
