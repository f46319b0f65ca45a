// K, the number of heads kept from a ranking: given, or the grid value with the lowest mean
// first-answer-token CE on the validation set (the top-K mask of each grid value patched with the means;
// ties go to the smaller K). One prefix-shared batch of |grid| rows per validation example.
import { meanLossOverSet, type RolloutEvaluator } from '../locate/run.js';
import { maskOf } from './types.js';

/** Default grid: powers of two up to 64, capped at layers x heads. */
export function defaultKGrid(layers: number, heads: number): number[] {
  const out: number[] = [];
  for (let k = 1; k <= Math.min(64, layers * heads); k *= 2) out.push(k);
  return out;
}

export function checkK(k: number, layers: number, heads: number, flag = 'K'): void {
  if (!Number.isInteger(k) || k <= 0) throw new Error(`${flag} = ${k}: must be a positive integer`);
  if (k > layers * heads) throw new Error(`${flag} = ${k} is larger than the model's layers x heads = ${layers} x ${heads} = ${layers * heads}`);
}

/** Heads in descending score, ties by ascending index. */
export function rankByScore(scores: ArrayLike<number>): number[] {
  return Array.from({ length: scores.length }, (_, i) => i).sort((a, b) => scores[b]! - scores[a]! || a - b);
}

/** The first k of a ranking, ascending (the stored location order). */
export const topK = (ranking: readonly number[], k: number): Int32Array => Int32Array.from(ranking.slice(0, k)).sort();

export async function chooseK<Q>(
  ranking: readonly number[], grid: readonly number[], layers: number, heads: number,
  evaluate: RolloutEvaluator<Q>, validation: readonly Q[], seed: number | string,
): Promise<{ k: number; losses: { k: number; loss: number }[] }> {
  if (grid.length === 0) throw new Error('K grid is empty');
  grid.forEach((k) => checkK(k, layers, heads, 'K grid value'));
  if (validation.length === 0) throw new Error('choosing K needs validation examples (validation size 0); give K instead');
  const masks = grid.map((k) => maskOf(topK(ranking, k), layers * heads));
  const losses = await meanLossOverSet(evaluate, validation, masks, seed, 'k-grid');
  let best = 0;
  for (let i = 1; i < grid.length; i++) if (losses[i]! < losses[best]! || (losses[i] === losses[best] && grid[i]! < grid[best]!)) best = i;
  return { k: grid[best]!, losses: grid.map((k, i) => ({ k, loss: losses[i]! })) };
}
