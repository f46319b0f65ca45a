import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { logSoftmax, randomF32, softmax, type RowVariant } from '../src/index.js';
import { refLogSoftmax, refSoftmax } from '../src/reference/index.js';
import { expectClose, useGpu } from './setup.js';

const gpu = useGpu();
const VARIANTS: RowVariant[] = ['row', 'workgroup'];

// Tolerances: softmax outputs are in [0, 1]: 1e-6 abs + 2e-5 rel (f32 exp, blocked f32 sums).
// log-softmax values are O(log n + spread): 2e-5 abs + 2e-6 rel.
describe('softmax / logSoftmax vs float64 reference', () => {
  for (const variant of VARIANTS) {
    it(`${variant} variant on odd shapes`, async () => {
      const g = await gpu();
      await fc.assert(
        fc.asyncProperty(fc.integer({ min: 1, max: 9 }), fc.integer({ min: 1, max: 700 }), fc.integer({ min: 0, max: 1e6 }), async (rows, n, seed) => {
          const x = randomF32(rows * n, seed, -12, 12);
          const rec = g.recorder();
          const tx = g.upload(x, [rows, n]);
          const s = rec.read(await softmax(rec, tx, { variant }));
          const l = rec.read(await logSoftmax(rec, tx, { variant }));
          await rec.submit();
          expectClose(await s, refSoftmax(x, n), 1e-6, 2e-5);
          expectClose(await l, refLogSoftmax(x, n), 2e-5, 2e-6);
        }),
        { numRuns: 6 },
      );
    });
  }

  it('is stable for large logits, handles -inf (masked) entries, and a 3-D input', async () => {
    const g = await gpu();
    const n = 37;
    const x = randomF32(2 * 3 * n, 5, 1000, 1010); // exp(x) alone would overflow f32
    x[4] = -Infinity;
    for (const variant of VARIANTS) {
      const rec = g.recorder();
      const out = rec.read(await softmax(rec, g.upload(x, [2, 3, n]), { variant }));
      await rec.submit();
      const got = await out;
      expect(got[4]).toBe(0);
      expectClose(got, refSoftmax(x, n), 1e-6, 2e-5);
    }
  });

  it('a vocabulary-length row (151936), the loop-cap boundary, and the chunked path', async () => {
    const g = await gpu();
    const n = 151936;
    const x = randomF32(2 * n, 9, -20, 20);
    const rec0 = g.recorder();
    const l = rec0.read(await logSoftmax(rec0, g.upload(x, [2, n]))); // auto: the workgroup variant
    if (g.report.cpuAdapter) await expect(logSoftmax(rec0, g.upload(x, [2, n]), { variant: 'row' })).rejects.toThrow(/logSoftmax: the 'row' variant would run .* llvmpipe stops loops after 65535/);
    // 21000 values x 3 passes: just under llvmpipe's loop cap, so the serial variant must still be right
    const z = randomF32(21000, 10, -20, 20);
    const s = rec0.read(await softmax(rec0, g.upload(z, [1, 21000]), { variant: 'row' }));
    await rec0.submit();
    expectClose(await l, refLogSoftmax(x, n), 2e-5, 2e-6);
    expectClose(await s, refSoftmax(z, 21000), 1e-6, 2e-5);

    const rows = 13;
    const m = 100; // 400-byte rows under a 32 KiB limit: chunks of 80 rows (a 256-byte-aligned multiple of 16 rows)
    const y = randomF32(rows * 10 * m, 3, -5, 5);
    const rec = g.recorder();
    const tr = g.upload(y, [rows * 10, m]);
    const c = rec.read(await softmax(rec, tr, { maxBindingBytes: 32 * 1024 }));
    expect(rec.dispatchCount).toBe(Math.ceil((rows * 10) / 80));
    await rec.submit();
    expectClose(await c, refSoftmax(y, m), 1e-6, 2e-5);
  });

  it('rejects bad dtypes and outputs', async () => {
    const g = await gpu();
    const rec = g.recorder();
    await expect(softmax(rec, g.upload([1, 2], [2], 'i32'))).rejects.toThrow(/softmax: tensor \[2\] has dtype i32/);
    await expect(logSoftmax(rec, g.upload(randomF32(6, 1), [2, 3]), { out: g.empty([3, 2]) })).rejects.toThrow(/logSoftmax: output \[3, 2\] f32 does not match input \[2, 3\]/);
    await expect(softmax(rec, g.empty([2, 0]))).rejects.toThrow(/softmax: input \[2, 0\] has an empty last dimension/);
  });
});
