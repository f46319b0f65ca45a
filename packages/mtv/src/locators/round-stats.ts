// Per-round statistics beyond the sums, for the sensitivity and STV locators, kept with bounded memory
// and merged deterministically whoever computed which shard.
//   sensitivity: per head, sum over rounds of ||icl[l,h,:] - zeroShot[l,h,:]||_2 (float64). Summed per
//     shard from zero in round order, the shards in shard-id order: the shard rule of activations/sums.ts,
//     so a fleet reproduces a single process bit for bit.
//   bank: the ICL taps of a fixed, seeded subset of at most `size` rounds (a reservoir whose members are
//     known before any forward pass: PRNG(seed, 'bank-rounds') picks them from all rounds), stored by
//     round id. Memory is size x layers x heads x headDim whatever the number of rounds, and the merge
//     is a placement by round id, so it does not depend on arrival order or on the shard split.
import { Prng } from '../sampling/prng.js';
import type { SumsShape } from '../activations/sums.js';

/** Default reservoir size (rounds kept for clustering). */
export const DEFAULT_BANK_ROUNDS = 256;

/** The rounds whose taps the bank keeps: all when rounds <= size, else a seeded subset; ascending. */
export function bankRounds(seed: number | string, firstRound: number, rounds: number, size: number): number[] {
  if (!Number.isInteger(size) || size <= 0) throw new Error(`bank: reservoir size must be a positive integer, got ${size}`);
  const picked = rounds <= size ? Array.from({ length: rounds }, (_, i) => i) : Prng.derive(seed, 'bank-rounds').sampleIndices(rounds, size);
  return picked.map((i) => firstRound + i).sort((a, b) => a - b);
}

export interface RoundStatsData {
  readonly shape: SumsShape;
  /** Sum over rounds of the per-head L2 norm of (ICL tap - zero-shot tap) [layers * heads]. */
  readonly sensitivity: Float64Array;
  readonly count: number;
  /** Round ids of the kept taps, ascending. */
  readonly rounds: readonly number[];
  /** Kept taps [rounds.length, layers, heads, headDim]. */
  readonly taps: Float32Array;
}

export class RoundStats {
  readonly shape: SumsShape;
  readonly sensitivity: Float64Array;
  private n = 0;
  private readonly kept = new Map<number, Float32Array>();

  constructor(shape: SumsShape) {
    this.shape = [shape[0], shape[1], shape[2]];
    this.sensitivity = new Float64Array(shape[0] * shape[1]);
  }

  get count(): number {
    return this.n;
  }

  get keptRounds(): number[] {
    return [...this.kept.keys()].sort((a, b) => a - b);
  }

  /** One round: the ICL tap and the zero-shot tap of the same query; `keep` stores the ICL tap in the bank. */
  add(round: number, icl: Float32Array, zeroShot: Float32Array, keep: boolean): this {
    const [L, H, D] = this.shape;
    if (icl.length !== L * H * D || zeroShot.length !== L * H * D) throw new Error(`RoundStats.add: round ${round}: taps have ${icl.length} and ${zeroShot.length} values, expected [${L}, ${H}, ${D}] = ${L * H * D}`);
    for (let j = 0; j < L * H; j++) {
      let ss = 0;
      for (let d = 0; d < D; d++) {
        const x = icl[j * D + d]! - zeroShot[j * D + d]!;
        ss += x * x;
      }
      if (!Number.isFinite(ss)) throw new Error(`RoundStats.add: round ${round}: non-finite activation at layer ${Math.floor(j / H)}, head ${j % H}`);
      this.sensitivity[j] += Math.sqrt(ss);
    }
    this.n++;
    if (keep) this.keep(round, icl);
    return this;
  }

  private keep(round: number, tap: Float32Array): void {
    if (this.kept.has(round)) throw new Error(`RoundStats: round ${round} is in the bank twice (a shard was merged twice)`);
    this.kept.set(round, Float32Array.from(tap));
  }

  /** this += other: sensitivity sums add element by element, bank taps are placed by round id. */
  merge(other: RoundStatsData): this {
    const s = other.shape;
    if (s[0] !== this.shape[0] || s[1] !== this.shape[1] || s[2] !== this.shape[2]) throw new Error(`RoundStats.merge: shape [${s.join(', ')}] does not match [${this.shape.join(', ')}]`);
    for (let j = 0; j < this.sensitivity.length; j++) this.sensitivity[j] += other.sensitivity[j]!;
    this.n += other.count;
    const size = this.shape[0] * this.shape[1] * this.shape[2];
    other.rounds.forEach((r, i) => this.keep(r, other.taps.subarray(i * size, (i + 1) * size)));
    return this;
  }

  /** Mean sensitivity per head. */
  scores(): Float64Array {
    if (this.n === 0) throw new Error('RoundStats.scores: no rounds added');
    return this.sensitivity.map((v) => v / this.n);
  }

  /** The kept taps of one location (flat l * heads + h) in round order: [rounds, headDim]. */
  locationTaps(location: number): Float32Array[] {
    const D = this.shape[2];
    return this.keptRounds.map((r) => this.kept.get(r)!.subarray(location * D, (location + 1) * D));
  }

  toData(): RoundStatsData {
    const rounds = this.keptRounds;
    const size = this.shape[0] * this.shape[1] * this.shape[2];
    const taps = new Float32Array(rounds.length * size);
    rounds.forEach((r, i) => taps.set(this.kept.get(r)!, i * size));
    return { shape: this.shape, sensitivity: this.sensitivity.slice(), count: this.n, rounds, taps };
  }

  static fromData(d: RoundStatsData): RoundStats {
    return new RoundStats(d.shape).merge(d);
  }
}

/** The run's statistics: zero, plus each shard's in shard-id order (all of 0..n-1 exactly once). */
export function mergeRoundStats(shards: readonly { readonly shardId: number; readonly stats: RoundStatsData }[], expectedShards?: number): RoundStats {
  if (shards.length === 0) throw new Error('mergeRoundStats: no shards');
  const sorted = [...shards].sort((a, b) => a.shardId - b.shardId);
  const n = expectedShards ?? sorted.length;
  if (sorted.length !== n || sorted.some((s, i) => s.shardId !== i)) throw new Error(`mergeRoundStats: expected shards 0..${n - 1} exactly once, got ids [${sorted.map((s) => s.shardId).join(', ')}]`);
  const total = new RoundStats(sorted[0]!.stats.shape);
  for (const s of sorted) total.merge(s.stats);
  return total;
}
