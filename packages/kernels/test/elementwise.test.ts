import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { KernelError, add, binary, randomF32, scale, unary } from '../src/index.js';
import { refBinary, refScale, refUnary } from '../src/reference/index.js';
import { expectClose, useGpu } from './setup.js';

const gpu = useGpu();

// Tolerances: add/mul/scale are exact in f32 up to one rounding (1e-6 rel). The activations use
// f32 exp/erf approximations: 2e-6 abs + 1e-5 rel on inputs in [-6, 6].
describe('elementwise kernels vs float64 reference', () => {
  for (const op of ['gelu', 'gelu_tanh', 'quick_gelu', 'silu'] as const) {
    it(`${op} on odd shapes`, async () => {
      const g = await gpu();
      await fc.assert(
        fc.asyncProperty(fc.integer({ min: 1, max: 3000 }), fc.integer({ min: 0, max: 1e6 }), async (n, seed) => {
          const a = randomF32(n, seed, -6, 6);
          const rec = g.recorder();
          const y = await unary(rec, op, g.upload(a, [n]));
          const out = rec.read(y);
          await rec.submit();
          expectClose(await out, refUnary(op, a), 2e-6, 1e-5);
        }),
        { numRuns: 8 },
      );
    });
  }

  for (const op of ['add', 'mul', 'silu_mul'] as const) {
    it(`${op} with full and broadcast operands`, async () => {
      const g = await gpu();
      for (const [rows, cols] of [[1, 1], [3, 7], [17, 33], [5, 1000]] as const) {
        const a = randomF32(rows * cols, rows * 31 + cols, -4, 4);
        const b = randomF32(rows * cols, cols, -4, 4);
        const row = randomF32(cols, cols + 1, -4, 4);
        const rec = g.recorder();
        const ta = g.upload(a, [rows, cols]);
        const full = rec.read(await binary(rec, op, ta, g.upload(b, [rows, cols])));
        const bc = rec.read(await binary(rec, op, ta, g.upload(row, [cols])));
        await rec.submit();
        expectClose(await full, refBinary(op, a, b), 1e-6, 1e-5);
        expectClose(await bc, refBinary(op, a, row), 1e-6, 1e-5);
      }
    });
  }

  it('scale, and add into a given output; in-place use is refused', async () => {
    const g = await gpu();
    const a = randomF32(1001, 1);
    const b = randomF32(1001, 2);
    const rec = g.recorder();
    const ta = g.upload(a, [7, 143]);
    const s = rec.read(await scale(rec, ta, 0.125));
    const tb = g.upload(b, [7, 143]);
    await expect(add(rec, ta, tb, ta)).rejects.toThrow(/add: output \[7, 143\] overlaps input/);
    const inplace = rec.read(await add(rec, ta, tb, g.empty([7, 143])));
    await rec.submit();
    expectClose(await s, refScale(a, 0.125), 0, 1e-7);
    expectClose(await inplace, refBinary('add', a, b), 1e-6, 1e-6);
  });

  it('rejects mismatched shapes and dtypes with the kernel name', async () => {
    const g = await gpu();
    const rec = g.recorder();
    const a = g.upload(randomF32(12, 1), [3, 4]);
    await expect(binary(rec, 'add', a, g.upload(randomF32(3, 1), [3]))).rejects.toThrow(/add: cannot broadcast \[3\] onto \[3, 4\]/);
    await expect(unary(rec, 'gelu', g.upload([1, 2], [2], 'i32'))).rejects.toThrow(KernelError);
    await expect(unary(rec, 'gelu', g.upload([1, 2], [2], 'i32'))).rejects.toThrow(/gelu: tensor \[2\] has dtype i32/);
  });
});
