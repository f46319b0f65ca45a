import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Prng, sampleRound } from '@mtv/mtv';

describe('Prng', () => {
  it('is xoshiro128** (reference vector for state [1, 2, 3, 4] from the C implementation)', () => {
    const r = new Prng([1, 2, 3, 4]);
    expect(Array.from({ length: 8 }, () => r.nextU32())).toEqual([11520, 0, 5927040, 70819200, 2031721883, 1637235492, 1287239034, 3734860849]);
  });

  it('derived streams are deterministic, distinct per label, and resumable from their state', () => {
    const a = Prng.derive(7, 'round', 3);
    const b = Prng.derive(7, 'round', 3);
    expect(a.state()).toEqual(b.state());
    expect(Prng.derive(7, 'round', 4).state()).not.toEqual(a.state());
    a.nextU32();
    const c = new Prng(a.state());
    expect(c.nextU32()).toBe(a.nextU32());
  });

  it('int(n) stays in range and sampleIndices draws distinct indices', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 50 }), fc.integer({ min: 0, max: 1000 }), (n, seed) => {
      const r = Prng.derive(seed);
      const k = Math.min(n, 10);
      const idx = r.sampleIndices(n, k);
      expect(new Set(idx).size).toBe(k);
      expect(idx.every((i) => i >= 0 && i < n)).toBe(true);
    }), { numRuns: 10 });
    expect(() => Prng.derive(1).sampleIndices(3, 4)).toThrow(/cannot draw 4 distinct items from 3/);
  });
});

describe('sampleRound', () => {
  const data = Array.from({ length: 20 }, (_, i) => `ex${i}`);

  it('depends only on (seed, round): any evaluation order gives the same rounds', () => {
    const forward = Array.from({ length: 12 }, (_, r) => sampleRound(data, { seed: 5, round: r, shots: 4 }));
    const backward = Array.from({ length: 12 }, (_, r) => sampleRound(data, { seed: 5, round: 11 - r, shots: 4 })).reverse();
    expect(backward).toEqual(forward);
    expect(sampleRound(data, { seed: 6, round: 0, shots: 4 }).indices).not.toEqual(forward[0].indices);
  });

  it('draws shots and query without replacement within a round', () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: 19 }), fc.integer({ min: 0, max: 10_000 }), (shots, round) => {
      const s = sampleRound(data, { seed: 'x', round, shots });
      expect(s.shots).toHaveLength(shots);
      expect(new Set(s.indices).size).toBe(shots + 1);
      expect(s.query).toBe(data[s.indices[shots]]);
    }), { numRuns: 10 });
  });

  it('explains impossible requests', () => {
    expect(() => sampleRound([], { seed: 1, round: 0, shots: 0 })).toThrow(/dataset is empty/);
    expect(() => sampleRound(data, { seed: 1, round: 0, shots: 20 })).toThrow(/needs 20 shots \+ 1 query = 21 distinct examples, but the dataset has only 20/);
    expect(() => sampleRound(data, { seed: 1, round: -1, shots: 2 })).toThrow(/round must be/);
  });
});
