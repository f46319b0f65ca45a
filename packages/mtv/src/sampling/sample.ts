// Round sampling: round r draws its shots and its query from a stream keyed by (seed, r), so the
// prompts of a run never depend on how many workers there are or which one ran a round.
import { Prng } from './prng.js';

export interface RoundSampleOptions {
  readonly seed: number | string;
  readonly round: number;
  /** Number of in-context examples before the query (0 for a zero-shot query). */
  readonly shots: number;
}

export interface RoundSample<E> {
  readonly round: number;
  readonly shots: readonly E[];
  readonly query: E;
  /** Indices into the dataset, shots first then the query (for provenance and logs). */
  readonly indices: readonly number[];
  /** A uniform u32 for per-round prompt choices (the 2-way formats' option order). */
  readonly variant: number;
}

/**
 * Draws `shots + 1` distinct examples without replacement: the first `shots` are the shots, the last
 * the query. (The reference draws the query and the shots independently, so its query can repeat a
 * shot; we keep them distinct, which the design asks for.)
 */
export function sampleRound<E>(examples: readonly E[], opts: RoundSampleOptions): RoundSample<E> {
  const { seed, round, shots } = opts;
  if (!Number.isInteger(round) || round < 0) throw new Error(`sampleRound: round must be a non-negative integer, got ${round}`);
  if (!Number.isInteger(shots) || shots < 0) throw new Error(`sampleRound: shots must be a non-negative integer, got ${shots}`);
  if (examples.length === 0) throw new Error('sampleRound: the dataset is empty');
  if (shots + 1 > examples.length) {
    throw new Error(`sampleRound: round ${round} needs ${shots} shots + 1 query = ${shots + 1} distinct examples, but the dataset has only ${examples.length}`);
  }
  const rng = Prng.derive(seed, 'round', round);
  const indices = rng.sampleIndices(examples.length, shots + 1);
  const variant = rng.nextU32();
  return {
    round,
    shots: indices.slice(0, shots).map((i) => examples[i]),
    query: examples[indices[shots]],
    indices,
    variant,
  };
}
