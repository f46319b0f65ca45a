// Seeded randomness for the task suite. Kept local (instead of importing `rng` from @mtv/kernels)
// so generating data never loads the WebGPU binding; the generator is the same mulberry32.

/** mulberry32 over a 32-bit state: deterministic across platforms and Node versions. */
export class Rng {
  private s: number;

  constructor(seed: number) {
    this.s = toSeed(seed, 'Rng');
  }

  /** Uniform in [0, 1). */
  next(): number {
    this.s = (this.s + 0x6d2b79f5) >>> 0;
    let t = this.s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** Uniform integer in [lo, hi] (both inclusive). */
  int(lo: number, hi: number): number {
    if (!(hi >= lo)) throw new RangeError(`Rng.int: empty range [${lo}, ${hi}]`);
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }

  /** One element of a non-empty list, uniformly. */
  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new RangeError('Rng.pick: empty list');
    return items[Math.floor(this.next() * items.length)]!;
  }

  /** True with probability p. */
  chance(p: number): boolean {
    return this.next() < p;
  }

  /** A shuffled copy (Fisher-Yates). */
  shuffle<T>(items: readonly T[]): T[] {
    const out = items.slice();
    for (let i = out.length - 1; i > 0; i--) {
      const j = Math.floor(this.next() * (i + 1));
      [out[i], out[j]] = [out[j]!, out[i]!];
    }
    return out;
  }
}

/** A seed must be an integer; it is taken modulo 2^32 (so -1 and 2^32-1 are the same seed). */
export function toSeed(seed: number, where: string): number {
  if (!Number.isInteger(seed)) throw new TypeError(`${where}: seed must be an integer, got ${seed}`);
  return Number(BigInt.asUintN(32, BigInt(seed)));
}

/**
 * Derive an independent sub-seed from a seed and stream numbers (murmur3 finaliser after each
 * word), so that shot i of episode s never shares a random stream with shot j or episode s+1.
 */
export function mixSeed(seed: number, ...streams: number[]): number {
  let h = toSeed(seed, 'mixSeed') ^ 0x9e3779b9;
  for (const s of [...streams, streams.length]) {
    h = Math.imul(h ^ toSeed(s, 'mixSeed'), 0x85ebca6b);
    h ^= h >>> 13;
    h = Math.imul(h, 0xc2b2ae35);
    h ^= h >>> 16;
  }
  return h >>> 0;
}
