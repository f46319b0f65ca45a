import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { argmax, randomF32, rng, type RowVariant } from '../src/index.js';
import { refArgmax } from '../src/reference/index.js';
import { useGpu } from './setup.js';

const gpu = useGpu();
const VARIANTS: RowVariant[] = ['row', 'workgroup'];

// argmax is exact: results must equal the reference index (first maximum on ties).
describe('argmax vs reference', () => {
  for (const variant of VARIANTS) {
    it(`${variant} variant on odd shapes with ties`, async () => {
      const g = await gpu();
      await fc.assert(
        fc.asyncProperty(fc.integer({ min: 1, max: 9 }), fc.integer({ min: 1, max: 2000 }), fc.integer({ min: 0, max: 1e6 }), async (rows, n, seed) => {
          // values from a small set so ties of the maximum are common
          const r = rng(seed);
          const x = Float32Array.from({ length: rows * n }, () => Math.floor(r() * 8) - 4);
          const rec = g.recorder();
          const out = rec.read(await argmax(rec, g.upload(x, [rows, n]), { variant }));
          await rec.submit();
          expect(Array.from(await out)).toEqual(Array.from(refArgmax(x, n)));
        }),
        { numRuns: 8 },
      );
    });

    it(`${variant} variant with flagNonFinite: -1 for rows with NaN or +-Inf, the reference index elsewhere`, async () => {
      const g = await gpu();
      const n = 517;
      const rows = 5;
      const x = randomF32(rows * n, 11);
      x[1 * n + 300] = NaN;
      x[2 * n + 0] = Infinity;
      x[3 * n + n - 1] = -Infinity;
      const rec = g.recorder();
      const flagged = rec.read(await argmax(rec, g.upload(x, [rows, n]), { variant, flagNonFinite: true }));
      await rec.submit();
      const want = Array.from(refArgmax(x, n));
      expect(Array.from(await flagged)).toEqual([want[0], -1, -1, -1, want[4]]);
    });

    it(`${variant} variant: all -inf, all equal, max at the end`, async () => {
      const g = await gpu();
      const n = 301;
      const x = new Float32Array(3 * n);
      x.fill(-Infinity, 0, n); // row 0: all -inf -> 0
      x.fill(2.5, n, 2 * n); // row 1: all equal -> 0
      x.fill(-1, 2 * n, 3 * n);
      x[3 * n - 1] = 0; // row 2: the last element
      const rec = g.recorder();
      const out = rec.read(await argmax(rec, g.upload(x, [3, n]), { variant }));
      await rec.submit();
      expect(Array.from(await out)).toEqual([0, 0, n - 1]);
    });
  }

  it('a vocabulary row of 151936 (auto variant), a [B, T, N] input, and the chunked path', async () => {
    const g = await gpu();
    const n = 151936;
    const x = randomF32(2 * n, 3, -10, 10);
    x[n + 151935] = 11;
    const z = randomF32(2 * 3 * 50, 4);
    const c = randomF32(130 * 100, 5);
    const rec = g.recorder();
    const big = rec.read(await argmax(rec, g.upload(x, [2, n])));
    const batched = await argmax(rec, g.upload(z, [2, 3, 50]));
    expect(batched.shape).toEqual([2, 3]);
    const b = rec.read(batched);
    const before = rec.dispatchCount;
    const chunked = rec.read(await argmax(rec, g.upload(c, [130, 100]), { maxBindingBytes: 32 * 1024 }));
    expect(rec.dispatchCount - before).toBe(2); // 400-byte rows: chunks of 80 rows
    await rec.submit();
    expect(Array.from(await big)).toEqual(Array.from(refArgmax(x, n)));
    expect(Array.from(await big)[1]).toBe(151935);
    expect(Array.from(await b)).toEqual(Array.from(refArgmax(z, 50)));
    expect(Array.from(await chunked)).toEqual(Array.from(refArgmax(c, 100)));
  });

  it('rejects bad dtypes and outputs', async () => {
    const g = await gpu();
    const rec = g.recorder();
    await expect(argmax(rec, g.upload([1, 2], [1, 2], 'i32'))).rejects.toThrow(/argmax: tensor \[1, 2\] has dtype i32; expected f32/);
    await expect(argmax(rec, g.upload(randomF32(6, 1), [2, 3]), { out: g.empty([2], 'f32') })).rejects.toThrow(/argmax: tensor \[2\] has dtype f32; expected i32/);
    await expect(argmax(rec, g.upload(randomF32(6, 1), [2, 3]), { out: g.empty([3], 'i32') })).rejects.toThrow(/argmax: output has shape \[3\]; expected \[2\]/);
  });
});
