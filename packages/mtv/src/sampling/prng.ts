// Seeded PRNG: xoshiro128** (Blackman & Vigna), seeded from SHA-256 of a labelled key so that
// every (seed, purpose, index) triple gets an independent stream. Nothing here depends on how
// many workers run or in what order: a stream is a pure function of its key.
import { createHash } from 'node:crypto';

/** The 128-bit xoshiro128** state as four u32 words; plain data so it serialises as JSON. */
export type PrngState = readonly [number, number, number, number];

const rotl = (x: number, k: number): number => ((x << k) | (x >>> (32 - k))) >>> 0;

export class Prng {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;

  constructor(state: PrngState) {
    if (state.length !== 4 || !state.every((w) => Number.isInteger(w) && w >= 0 && w <= 0xffffffff)) {
      throw new Error(`Prng: state must be four u32 words, got ${JSON.stringify(state)}`);
    }
    if (state.every((w) => w === 0)) throw new Error('Prng: the all-zero state is a fixed point of xoshiro128**');
    [this.s0, this.s1, this.s2, this.s3] = state;
  }

  /** A stream keyed by a seed and any labels (e.g. `Prng.derive(seed, 'round', r)`). */
  static derive(seed: number | string, ...labels: (number | string)[]): Prng {
    const key = JSON.stringify([String(seed), ...labels.map(String)]);
    const h = createHash('sha256').update(key).digest();
    const words: [number, number, number, number] = [h.readUInt32LE(0), h.readUInt32LE(4), h.readUInt32LE(8), h.readUInt32LE(12)];
    if (words.every((w) => w === 0)) words[0] = 1;
    return new Prng(words);
  }

  state(): PrngState {
    return [this.s0, this.s1, this.s2, this.s3];
  }

  nextU32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5) >>> 0, 7), 9) >>> 0;
    const t = (this.s1 << 9) >>> 0;
    this.s2 = (this.s2 ^ this.s0) >>> 0;
    this.s3 = (this.s3 ^ this.s1) >>> 0;
    this.s1 = (this.s1 ^ this.s2) >>> 0;
    this.s0 = (this.s0 ^ this.s3) >>> 0;
    this.s2 = (this.s2 ^ t) >>> 0;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  /** Uniform in [0, 1) with 53 random bits. */
  nextFloat(): number {
    const hi = this.nextU32() >>> 5; // 27 bits
    const lo = this.nextU32() >>> 6; // 26 bits
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  /** Uniform integer in [0, n), unbiased (rejection sampling on 32-bit draws). */
  int(n: number): number {
    if (!Number.isInteger(n) || n <= 0 || n > 0x100000000) throw new Error(`Prng.int: n must be an integer in [1, 2^32], got ${n}`);
    const limit = 0x100000000 - (0x100000000 % n);
    for (;;) {
      const x = this.nextU32();
      if (x < limit) return x % n;
    }
  }

  /** `k` distinct indices from [0, n) in draw order (partial Fisher-Yates). */
  sampleIndices(n: number, k: number): number[] {
    if (!Number.isInteger(k) || k < 0 || k > n) throw new Error(`Prng.sampleIndices: cannot draw ${k} distinct items from ${n}`);
    const pool = new Map<number, number>(); // sparse Fisher-Yates: O(k) memory for large n
    const out: number[] = [];
    for (let i = 0; i < k; i++) {
      const j = i + this.int(n - i);
      const vj = pool.get(j) ?? j;
      const vi = pool.get(i) ?? i;
      pool.set(j, vi);
      out.push(vj);
    }
    return out;
  }
}
