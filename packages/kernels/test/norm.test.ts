import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { layernorm, randomF32, rmsnorm, type RowVariant } from '../src/index.js';
import { refLayerNorm, refRmsNorm } from '../src/reference/index.js';
import { expectClose, useGpu } from './setup.js';

const gpu = useGpu();
const VARIANTS: RowVariant[] = ['row', 'workgroup'];

// Tolerance: outputs are O(1) (normalised values times weights in [-2, 2], plus bias): 2e-5 abs
// + 2e-5 rel covers f32 rounding of the blocked sums, sqrt and the final multiply-add.
const ATOL = 2e-5;
const RTOL = 2e-5;

async function runBoth(h: number, rows: number, x: Float32Array, seed: number, variant?: RowVariant, eps = 1e-5): Promise<void> {
  const g = await gpu();
  const w = randomF32(h, seed + 1, -2, 2);
  const b = randomF32(h, seed + 2, -1, 1);
  const rec = g.recorder();
  const tx = g.upload(x, [rows, h]);
  const ln = rec.read(await layernorm(rec, tx, g.upload(w, [h]), g.upload(b, [h]), eps, { variant }));
  const rms = rec.read(await rmsnorm(rec, tx, g.upload(w, [h]), eps, { variant }));
  await rec.submit();
  expectClose(await ln, refLayerNorm(x, h, w, b, eps), ATOL, RTOL);
  expectClose(await rms, refRmsNorm(x, h, w, eps), ATOL, RTOL);
}

describe('layernorm / rmsnorm vs float64 reference', () => {
  for (const variant of VARIANTS) {
    it(`${variant} variant on odd shapes`, async () => {
      await fc.assert(
        fc.asyncProperty(fc.integer({ min: 1, max: 9 }), fc.integer({ min: 1, max: 600 }), fc.integer({ min: 0, max: 1e6 }), async (rows, h, seed) => {
          await runBoth(h, rows, randomF32(rows * h, seed, -3, 3), seed, variant);
        }),
        { numRuns: 6 },
      );
    });

    it(`${variant} variant: H = 37 and H = 4096, and a large common offset (two-pass accuracy)`, async () => {
      await runBoth(37, 5, randomF32(5 * 37, 1, -3, 3), 1, variant);
      await runBoth(4096, 3, randomF32(3 * 4096, 2, -3, 3), 2, variant);
      // x = 1000 + U(-1, 1): E[x^2] - E[x]^2 in f32 would lose everything; two-pass with a pivot keeps ~1e-6
      const off = randomF32(3 * 4096, 3, -1, 1).map((v) => 1000 + v);
      await runBoth(4096, 3, off, 3, variant, 1e-6);
    });
  }

  it('a constant row gives bias (layernorm) and a zero row gives zero (rmsnorm)', async () => {
    const g = await gpu();
    const h = 33;
    const x = new Float32Array(2 * h);
    x.fill(7, 0, h);
    const w = randomF32(h, 1);
    const b = randomF32(h, 2);
    const rec = g.recorder();
    const tx = g.upload(x, [2, h]);
    const ln = rec.read(await layernorm(rec, tx, g.upload(w, [h]), g.upload(b, [h]), 1e-5));
    const rms = rec.read(await rmsnorm(rec, tx, g.upload(w, [h]), 1e-6));
    await rec.submit();
    expectClose(await ln, refLayerNorm(x, h, w, b, 1e-5), 1e-6);
    expectClose(await rms, refRmsNorm(x, h, w, 1e-6), 1e-6, 1e-6);
  });

  it('a [B, T, H] input and the chunked path over a small binding limit', async () => {
    const g = await gpu();
    const [B, T, h] = [3, 50, 48]; // 192-byte rows under 4 KiB: chunks of 20 rows (a multiple of 4: 768 B is 256-aligned)
    const x = randomF32(B * T * h, 4, -2, 2);
    const w = randomF32(h, 5);
    const b = randomF32(h, 6);
    const rec = g.recorder();
    const tx = g.upload(x, [B, T, h]);
    const ln = await layernorm(rec, tx, g.upload(w, [h]), g.upload(b, [h]), 1e-5, { maxBindingBytes: 4096 });
    expect(rec.dispatchCount).toBe(Math.ceil((B * T) / 20));
    expect(ln.shape).toEqual([B, T, h]);
    const rms = rec.read(await rmsnorm(rec, tx, g.upload(w, [h]), 1e-6, { maxBindingBytes: 4096 }));
    const lnOut = rec.read(ln);
    await rec.submit();
    expectClose(await lnOut, refLayerNorm(x, h, w, b, 1e-5), ATOL, RTOL);
    expectClose(await rms, refRmsNorm(x, h, w, 1e-6), ATOL, RTOL);
  });

  it('rejects mismatched weights, dtypes, eps and outputs', async () => {
    const g = await gpu();
    const rec = g.recorder();
    const x = g.upload(randomF32(12, 1), [3, 4]);
    const w4 = g.upload(randomF32(4, 2), [4]);
    await expect(layernorm(rec, x, w4, g.upload(randomF32(3, 2), [3]), 1e-5)).rejects.toThrow(/layernorm: weight for input \[3, 4\] has shape \[3\]; expected \[4\]/);
    await expect(rmsnorm(rec, x, g.upload(randomF32(5, 2), [5]), 1e-5)).rejects.toThrow(/rmsnorm: weight for input \[3, 4\] has shape \[5\]; expected \[4\]/);
    await expect(rmsnorm(rec, g.upload([1, 2], [1, 2], 'i32'), w4, 1e-5)).rejects.toThrow(/rmsnorm: tensor \[1, 2\] has dtype i32/);
    await expect(rmsnorm(rec, x, w4, Number.NaN)).rejects.toThrow(/rmsnorm: eps must be a finite number/);
    await expect(layernorm(rec, x, w4, w4, 1e-5, { out: g.empty([4, 3]) })).rejects.toThrow(/layernorm: output \[4, 3\] f32 does not match input \[3, 4\]/);
  });
});
