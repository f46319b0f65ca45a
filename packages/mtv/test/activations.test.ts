import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ActivationSums, Prng, accumulateRounds, mergeShards, shardCount, shardRounds, type ShardSums } from '@mtv/mtv';

const shape = [2, 3, 4] as const;
const size = 24;
const bits = (a: Float64Array): string => Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('hex');

/** Taps with widely spread magnitudes so that f64 rounding actually happens. */
const tapArb = fc.float32Array({ minLength: size, maxLength: size, noDefaultInfinity: true, noNaN: true, min: Math.fround(-1e30), max: Math.fround(1e30) });

describe('ActivationSums', () => {
  it('computes means and population variance', () => {
    const s = new ActivationSums(shape);
    s.add(new Float32Array(size).fill(1)).add(new Float32Array(size).fill(3));
    expect(s.count).toBe(2);
    expect(Array.from(s.means())).toEqual(Array(size).fill(2));
    expect(Array.from(s.variance())).toEqual(Array(size).fill(1));
  });

  it('rejects NaN/Inf naming layer, head and dim, and wrong sizes', () => {
    const s = new ActivationSums(shape);
    const t = new Float32Array(size);
    t[1 * 12 + 2 * 4 + 3] = Number.NaN;
    expect(() => s.add(t)).toThrow(/non-finite value NaN at layer 1, head 2, dim 3/);
    t.fill(0)[5] = Infinity;
    expect(() => s.add(t)).toThrow(/layer 0, head 1, dim 1/);
    expect(s.count).toBe(0);
    expect(() => s.add(new Float32Array(5))).toThrow(/tap has 5 values, expected \[2, 3, 4\] = 24/);
    expect(() => s.merge(new ActivationSums([2, 3, 5]))).toThrow(/shape \[2, 3, 5\] does not match \[2, 3, 4\]/);
    expect(() => s.means()).toThrow(/no taps added/);
  });

  it('round-trips through plain typed arrays', () => {
    const s = new ActivationSums(shape).add(new Float32Array(size).map((_, i) => i * 0.1));
    const r = ActivationSums.fromData(s.toData());
    expect(bits(r.sum)).toBe(bits(s.sum));
    expect(bits(r.sumSq)).toBe(bits(s.sumSq));
    expect(r.count).toBe(1);
    expect(() => ActivationSums.fromData({ ...s.toData(), sum: new Float64Array(3) })).toThrow(/sum has 3/);
  });

  it('shows why the order is fixed: float64 sums depend on grouping', () => {
    const taps = [1, 1e30, -1e30, 1].map((v) => new Float32Array(size).fill(v));
    const sequential = new ActivationSums(shape);
    taps.forEach((t) => sequential.add(t));
    expect(sequential.sum[0]).toBe(1);
    expect(accumulateRounds(taps, shape, 2).sum[0]).toBe(0); // (1 + 1e30) + (-1e30 + 1)
  });
});

describe('distributed sums equal the single-process run bit for bit', () => {
  it('for any shard size, worker count and arrival order', () => {
    fc.assert(
      fc.property(
        fc.array(tapArb, { minLength: 1, maxLength: 12 }),
        fc.integer({ min: 1, max: 5 }),
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 0, max: 1e6 }),
        (taps, shardSize, workers, shuffleSeed) => {
          const single = accumulateRounds(taps, shape, shardSize);
          // Workers take shards round-robin; each shard starts from zero; results arrive shuffled.
          const n = shardCount(taps.length, shardSize);
          const results: ShardSums[] = [];
          for (let w = 0; w < workers; w++) {
            for (let id = w; id < n; id += workers) {
              const [a, b] = shardRounds(id, shardSize, taps.length);
              const sums = new ActivationSums(shape);
              for (let r = a; r < b; r++) sums.add(taps[r]);
              results.push({ shardId: id, sums: sums.toData() });
            }
          }
          const order = Prng.derive(shuffleSeed).sampleIndices(results.length, results.length);
          const arrived = order.map((i) => results[i]);
          const merged = mergeShards(arrived, n);
          expect(bits(merged.sum)).toBe(bits(single.sum));
          expect(bits(merged.sumSq)).toBe(bits(single.sumSq));
          expect(merged.count).toBe(taps.length);
        },
      ),
      { numRuns: 10 },
    );
  });

  it('refuses missing or duplicate shards', () => {
    const s = new ActivationSums(shape).add(new Float32Array(size));
    expect(() => mergeShards([{ shardId: 0, sums: s }, { shardId: 2, sums: s }])).toThrow(/expected shards 0..1 exactly once, got ids \[0, 2\]/);
    expect(() => mergeShards([{ shardId: 0, sums: s }], 2)).toThrow(/expected shards 0..1/);
    expect(() => shardRounds(3, 4, 12)).toThrow(/outside the 3 shards of 12 rounds/);
  });
});
