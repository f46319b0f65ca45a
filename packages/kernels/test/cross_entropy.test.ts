import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { KernelError, crossEntropy, randomF32, rng, type RowVariant } from '../src/index.js';
import { refCrossEntropy } from '../src/reference/index.js';
import { expectClose, useGpu } from './setup.js';

const gpu = useGpu();
const VARIANTS: RowVariant[] = ['row', 'workgroup'];

// Tolerance: losses are logsumexp - logit, O(log N + logit spread) <= ~30 here; f32 exp/log and
// blocked sums: 2e-5 abs + 2e-6 rel.
const ATOL = 2e-5;
const RTOL = 2e-6;

function pick(n: number, k: number, seed: number): Int32Array {
  const r = rng(seed);
  return Int32Array.from({ length: k }, () => Math.floor(r() * n));
}

describe('crossEntropy vs float64 reference', () => {
  for (const variant of VARIANTS) {
    it(`${variant} variant on odd shapes, host and tensor indices`, async () => {
      const g = await gpu();
      await fc.assert(
        fc.asyncProperty(fc.integer({ min: 1, max: 9 }), fc.integer({ min: 1, max: 900 }), fc.integer({ min: 1, max: 12 }), fc.integer({ min: 0, max: 1e6 }), async (m, n, k, seed) => {
          const x = randomF32(m * n, seed, -15, 15);
          const rows = pick(m, k, seed + 1);
          const targets = pick(n, k, seed + 2);
          const rec = g.recorder();
          const tx = g.upload(x, [m, n]);
          const host = rec.read(await crossEntropy(rec, tx, rows, targets, { variant }));
          const dev = rec.read(await crossEntropy(rec, tx, g.upload(rows, [k], 'i32'), g.upload(targets, [k], 'i32'), { variant }));
          await rec.submit();
          const ref = refCrossEntropy(x, n, rows, targets);
          expectClose(await host, ref, ATOL, RTOL);
          expectClose(await dev, ref, ATOL, RTOL);
        }),
        { numRuns: 6 },
      );
    });
  }

  it('a vocabulary of 151936 with large logits, repeated rows, and the chunked path', async () => {
    const g = await gpu();
    const n = 151936;
    const x = randomF32(3 * n, 7, 60, 100); // exp(100) overflows f32: only a max-subtracted sum survives
    const rows = [2, 0, 2, 1];
    const targets = [5, 151935, 0, 77777];
    const rec = g.recorder();
    const out = rec.read(await crossEntropy(rec, g.upload(x, [3, n]), rows, targets));
    // chunked: 100 rows of 400 B under 32 KiB -> chunks of 80 rows; rows on both sides of the split
    const c = randomF32(100 * 100, 8, -5, 5);
    const cr = [99, 0, 79, 80, 81, 5];
    const ct = [1, 2, 3, 4, 99, 0];
    const chunked = [];
    for (const variant of VARIANTS) {
      const before = rec.dispatchCount;
      chunked.push(rec.read(await crossEntropy(rec, g.upload(c, [100, 100]), cr, ct, { variant, maxBindingBytes: 32 * 1024 })));
      expect(rec.dispatchCount - before).toBe(2);
    }
    await rec.submit();
    expectClose(await out, refCrossEntropy(x, n, rows, targets), ATOL, RTOL);
    for (const v of chunked) expectClose(await v, refCrossEntropy(c, 100, cr, ct), ATOL, RTOL);
  });

  it('out-of-range indices: host arrays throw, tensors give NaN losses', async () => {
    const g = await gpu();
    const rec = g.recorder();
    const x = g.upload(randomF32(4 * 50, 1), [4, 50]);
    await expect(crossEntropy(rec, x, [0, 1], [3, 50])).rejects.toThrow(/crossEntropy: target 50 at position 1 is outside the vocabulary \[0, 50\)/);
    await expect(crossEntropy(rec, x, [4], [3])).rejects.toThrow(/crossEntropy: row 4 at position 0 is outside the logits rows of \[4, 50\] \[0, 4\)/);
    await expect(crossEntropy(rec, x, [0, 1], [3])).rejects.toThrow(/crossEntropy: 2 rows but 1 targets/);
    await expect(crossEntropy(rec, x, g.upload([0], [1], 'u32'), [3])).rejects.toThrow(KernelError);
    await expect(crossEntropy(rec, g.upload(randomF32(50, 1), [50]), [0], [3])).rejects.toThrow(/crossEntropy: tensor \[50\] has rank 1; expected rank 2/);
    const bad = rec.read(await crossEntropy(rec, x, g.upload([0, 9, 1, -1], [4], 'i32'), g.upload([50, 1, 2, 0], [4], 'i32')));
    await rec.submit();
    const v = await bad;
    expect(Number.isNaN(v[0]!)).toBe(true); // target 50 >= 50
    expect(Number.isNaN(v[1]!)).toBe(true); // row 9 >= 4
    expect(Number.isNaN(v[2]!)).toBe(false);
    expect(Number.isNaN(v[3]!)).toBe(true); // row -1
  });
});
