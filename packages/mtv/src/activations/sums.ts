// Exact, mergeable activation statistics for the MTV means.
//
// Float64 addition is commutative but not associative, so "the same sum" only means the same bits
// if the additions happen in the same order. The rule that makes a distributed run reproduce a
// single-process run bit-for-bit:
//   1. Rounds are grouped into shards of a fixed `shardSize` (a run parameter, never derived from
//      the worker count): shard s holds rounds [s*shardSize, min((s+1)*shardSize, rounds)).
//   2. Each shard's sums start from zero and add its rounds' taps in round order.
//   3. The run total starts from zero and adds the shard sums in shard-id order (mergeShards).
// A single-process run follows the same three steps (accumulateRounds), so whichever worker computed
// which shard, and in whatever order the results arrive, the totals are identical. Within one add,
// each tap element is widened f32 -> f64 exactly, and its square is exact in f64 (24+24 bits < 53).
const fmtShape = (s: readonly number[]): string => `[${s.join(', ')}]`;

export type SumsShape = readonly [layers: number, heads: number, headDim: number];

/** Plain-data form for the network protocol and the artifact. */
export interface ActivationSumsData {
  readonly shape: SumsShape;
  readonly sum: Float64Array;
  readonly sumSq: Float64Array;
  readonly count: number;
}

export class ActivationSums {
  readonly shape: SumsShape;
  readonly sum: Float64Array;
  readonly sumSq: Float64Array;
  private n = 0;

  constructor(shape: SumsShape) {
    if (shape.length !== 3 || !shape.every((d) => Number.isInteger(d) && d > 0)) {
      throw new Error(`ActivationSums: shape must be [layers, heads, headDim] of positive integers, got ${fmtShape(shape)}`);
    }
    this.shape = [shape[0], shape[1], shape[2]];
    const size = shape[0] * shape[1] * shape[2];
    this.sum = new Float64Array(size);
    this.sumSq = new Float64Array(size);
  }

  get count(): number {
    return this.n;
  }

  get size(): number {
    return this.sum.length;
  }

  /** Adds one tap [layers, heads, headDim]; refuses NaN/Inf, naming the layer, head and element. */
  add(tap: Float32Array | Float64Array): this {
    if (tap.length !== this.size) throw new Error(`ActivationSums.add: tap has ${tap.length} values, expected ${fmtShape(this.shape)} = ${this.size}`);
    const [, H, D] = this.shape;
    for (let i = 0; i < tap.length; i++) {
      if (!Number.isFinite(tap[i])) {
        throw new Error(`ActivationSums.add: non-finite value ${tap[i]} at layer ${Math.floor(i / (H * D))}, head ${Math.floor(i / D) % H}, dim ${i % D} (tap ${this.n})`);
      }
    }
    for (let i = 0; i < tap.length; i++) {
      const x = tap[i];
      this.sum[i] += x;
      this.sumSq[i] += x * x;
    }
    this.n++;
    return this;
  }

  /** this += other, element by element (one f64 addition each). Not associative: see the file comment. */
  merge(other: ActivationSums | ActivationSumsData): this {
    const s = other.shape;
    if (s[0] !== this.shape[0] || s[1] !== this.shape[1] || s[2] !== this.shape[2]) {
      throw new Error(`ActivationSums.merge: shape ${fmtShape(s)} does not match ${fmtShape(this.shape)}`);
    }
    for (let i = 0; i < this.sum.length; i++) {
      this.sum[i] += other.sum[i];
      this.sumSq[i] += other.sumSq[i];
    }
    this.n += other.count;
    return this;
  }

  /** sum / count, rounded to f32 once. */
  means(): Float32Array {
    if (this.n === 0) throw new Error(`ActivationSums.means: no taps added (shape ${fmtShape(this.shape)})`);
    const out = new Float32Array(this.size);
    for (let i = 0; i < out.length; i++) out[i] = this.sum[i] / this.n;
    return out;
  }

  /** Population variance sumSq/n - mean^2, clamped at 0 (cancellation can make it slightly negative). */
  variance(): Float64Array {
    if (this.n === 0) throw new Error(`ActivationSums.variance: no taps added (shape ${fmtShape(this.shape)})`);
    const out = new Float64Array(this.size);
    for (let i = 0; i < out.length; i++) {
      const m = this.sum[i] / this.n;
      out[i] = Math.max(0, this.sumSq[i] / this.n - m * m);
    }
    return out;
  }

  toData(): ActivationSumsData {
    return { shape: this.shape, sum: this.sum.slice(), sumSq: this.sumSq.slice(), count: this.n };
  }

  static fromData(d: ActivationSumsData): ActivationSums {
    const a = new ActivationSums(d.shape);
    if (d.sum.length !== a.size || d.sumSq.length !== a.size) {
      throw new Error(`ActivationSums.fromData: sum has ${d.sum.length} and sumSq ${d.sumSq.length} values, shape ${fmtShape(d.shape)} needs ${a.size}`);
    }
    if (!Number.isSafeInteger(d.count) || d.count < 0) throw new Error(`ActivationSums.fromData: count ${d.count} is not a non-negative integer`);
    a.sum.set(d.sum);
    a.sumSq.set(d.sumSq);
    a.n = d.count;
    return a;
  }
}

/** A shard's result as it travels from a worker. */
export interface ShardSums {
  readonly shardId: number;
  readonly sums: ActivationSums | ActivationSumsData;
}

/** The rounds of shard `shardId`: [start, end). */
export function shardRounds(shardId: number, shardSize: number, rounds: number): [number, number] {
  if (!Number.isInteger(shardSize) || shardSize <= 0) throw new Error(`shardRounds: shardSize must be a positive integer, got ${shardSize}`);
  const start = shardId * shardSize;
  if (!Number.isInteger(shardId) || shardId < 0 || start >= rounds) throw new Error(`shardRounds: shard ${shardId} is outside the ${Math.ceil(rounds / shardSize)} shards of ${rounds} rounds`);
  return [start, Math.min(start + shardSize, rounds)];
}

export const shardCount = (rounds: number, shardSize: number): number => Math.ceil(rounds / shardSize);

/**
 * The run total: zero, plus each shard's sums in shard-id order. Shards may arrive in any order;
 * all of 0..n-1 must be present exactly once (`expectedShards` when known).
 */
export function mergeShards(shards: readonly ShardSums[], expectedShards?: number): ActivationSums {
  if (shards.length === 0) throw new Error('mergeShards: no shards');
  const sorted = [...shards].sort((a, b) => a.shardId - b.shardId);
  const n = expectedShards ?? sorted.length;
  if (sorted.length !== n || sorted.some((s, i) => s.shardId !== i)) {
    throw new Error(`mergeShards: expected shards 0..${n - 1} exactly once, got ids [${sorted.map((s) => s.shardId).join(', ')}]`);
  }
  const total = new ActivationSums(sorted[0].sums.shape);
  for (const s of sorted) total.merge(s.sums);
  return total;
}

/** Single-process accumulation following the shard rule: identical bits to a distributed run. */
export function accumulateRounds(taps: Iterable<Float32Array>, shape: SumsShape, shardSize: number): ActivationSums {
  if (!Number.isInteger(shardSize) || shardSize <= 0) throw new Error(`accumulateRounds: shardSize must be a positive integer, got ${shardSize}`);
  const total = new ActivationSums(shape);
  let shard = new ActivationSums(shape);
  let inShard = 0;
  for (const tap of taps) {
    shard.add(tap);
    if (++inShard === shardSize) {
      total.merge(shard);
      shard = new ActivationSums(shape);
      inShard = 0;
    }
  }
  if (inShard > 0) total.merge(shard);
  return total;
}
