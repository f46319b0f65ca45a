import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { KernelError, defaultMatmulVariant, matmul, randomF32, registerTuning, type Gpu, type MatmulVariant } from '../src/index.js';
import { refMatmul } from '../src/reference/index.js';
import { runMatmul, tol, type Case } from './matmul-case.js';
import { expectClose, useGpu } from './setup.js';

const gpu = useGpu();

// Tolerance: inputs are uniform in [-1, 1], so the K partial sums are O(sqrt K) and each f32 add
// rounds by <= 2^-24 of that; K such roundings of random sign give ~2^-24·K (4e-6 at K = 70).
// atol = 1e-5·sqrt(K) is >= 20x that for K <= 70 and still catches any wrong or missing term
// (a single dropped product is ~0.3 on average). f16 weights are compared against the reference
// on the f16-rounded weights, so the same bound applies.
// (tol: matmul-case.ts)

const runCase = (g: Gpu, c: Case, variant: MatmulVariant, maxBindingBytes?: number) => runMatmul(g, c, { variant, ...(maxBindingBytes ? { maxBindingBytes } : {}) });

// sizes 1..70 with the primes and the vec4 / block edges over-represented
const dim = fc.oneof(fc.integer({ min: 1, max: 70 }), fc.constantFrom(1, 2, 3, 4, 5, 7, 13, 31, 32, 33, 61, 64, 67));
const caseArb = fc.record({
  lead: fc.oneof(dim.map((m) => [m]), fc.tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 23 })).map(([a, b]) => [a, b])),
  n: dim,
  k: dim,
  f16: fc.boolean(),
  bias: fc.boolean(),
  seed: fc.integer({ min: 0, max: 1e6 }),
});

describe('matmul vs float64 reference', () => {
  for (const variant of ['register', 'tiled'] as const) {
    it(`${variant}: odd shapes, f32/f16 W, with/without bias, batched leading dims`, async () => {
      const g = await gpu();
      await fc.assert(
        fc.asyncProperty(caseArb, async (c) => {
          const { got, ref } = await runCase(g, c, variant);
          expectClose(got, ref, tol(c.k));
        }),
        { numRuns: 10 },
      );
    }, 600_000); // first run on a machine JITs ~10 pipelines (seconds each on llvmpipe)

    it(`${variant}: M = 40 (16-row register blocks) with K % 4 in {0, 1, 2, 3}`, async () => {
      const g = await gpu();
      expect(registerTuning(40, 45, 64)).toMatchObject({ tm: 16, tn: 16 });
      for (const k of [64, 65, 66, 67]) {
        for (const f16 of [false, true]) {
          const c: Case = { lead: [40], n: 45, k, f16, bias: true, seed: k };
          const { got, ref } = await runCase(g, c, variant);
          expectClose(got, ref, tol(k));
        }
      }
    }, 600_000);

    it(`${variant}: W split into row chunks gives the same Y as one binding`, async () => {
      const g = await gpu();
      // f32 K=37: 148 B rows, 256-B aligned chunks are multiples of 64 rows -> 128, 128, 44.
      // f16 K=37: 74 B rows -> multiples of 128 rows; 10000 B -> chunks of 128 -> 128, 128, 44.
      for (const [f16, limit] of [[false, 20000], [true, 10000]] as const) {
        const c: Case = { lead: [3, 5], n: 300, k: 37, f16, bias: true, seed: 7 };
        const whole = await runCase(g, c, variant);
        const split = await runCase(g, c, variant, limit);
        expect(whole.dispatches).toBe(1);
        expect(split.dispatches).toBe(3);
        expect(Array.from(split.got)).toEqual(Array.from(whole.got));
        expectClose(split.got, split.ref, tol(c.k));
      }
    }, 600_000);
  }

  // The 32x32 block (large aligned GEMMs only) takes llvmpipe 40 s to 2 min to JIT per W dtype,
  // once per machine (Mesa's shader cache); it must still be checked, as larger blocks miscompiled.
  it('register: the 32x32 block used for large GEMMs (M, N >= 256), f32 and f16 W', async () => {
    const g = await gpu();
    expect(registerTuning(256, 260, 36)).toMatchObject({ tm: 32, tn: 32 });
    expect(registerTuning(256, 260, 37)).toMatchObject({ tm: 16, tn: 16 });
    for (const f16 of [false, true]) {
      const c: Case = { lead: [2, 135], n: 261, k: 36, f16, bias: true, seed: 3 };
      const { got, ref } = await runCase(g, c, 'register');
      expectClose(got, ref, tol(c.k));
    }
  }, 900_000);

  it('writes into a given output and picks the variant from the adapter', async () => {
    const g = await gpu();
    expect(defaultMatmulVariant({ cpuAdapter: true })).toBe('register');
    expect(defaultMatmulVariant({ cpuAdapter: false })).toBe('tiled');
    const x = randomF32(6 * 8, 1);
    const w = randomF32(5 * 8, 2);
    const rec = g.recorder();
    const out = g.empty([2, 3, 5]);
    const y = await matmul(rec, g.upload(x, [2, 3, 8]), g.upload(w, [5, 8]), { out });
    expect(y).toBe(out);
    const got = rec.read(out);
    await rec.submit();
    expectClose(await got, refMatmul(x, w, null, 6, 5, 8), tol(8));
  });

  it('rejects bad shapes and dtypes with the kernel name and the shapes', async () => {
    const g = await gpu();
    const rec = g.recorder();
    const x = g.upload(randomF32(12, 1), [3, 4]);
    const w = g.upload(randomF32(20, 2), [5, 4]);
    await expect(matmul(rec, x, g.upload(randomF32(15, 3), [5, 3]))).rejects.toThrow(/matmul: x \[3, 4\] has K = 4 but w \[5, 3\] has K = 3/);
    await expect(matmul(rec, x, w, { bias: g.upload(randomF32(4, 4), [4]) })).rejects.toThrow(/matmul: bias for w \[5, 4\] has shape \[4\]; expected \[5\]/);
    await expect(matmul(rec, x, w, { bias: g.upload(randomF32(5, 4), [5], 'f16') })).rejects.toThrow(/matmul: tensor \[5\] has dtype f16/);
    await expect(matmul(rec, g.upload(randomF32(12, 1), [3, 4], 'f16'), w)).rejects.toThrow(/matmul: tensor \[3, 4\] has dtype f16; expected f32/);
    await expect(matmul(rec, x, g.upload([1, 2, 3, 4], [1, 4], 'i32'))).rejects.toThrow(/matmul: tensor \[1, 4\] has dtype i32/);
    await expect(matmul(rec, x, g.upload(randomF32(20, 2), [20]))).rejects.toThrow(/matmul: tensor \[20\] has rank 1; expected rank 2/);
    await expect(matmul(rec, x, w, { out: g.empty([3, 4]) })).rejects.toThrow(/matmul: output for x \[3, 4\] · w \[5, 4\]ᵀ has shape \[3, 4\]; expected \[3, 5\]/);
    await expect(matmul(rec, x, w, { maxBindingBytes: g.maxBinding * 2 })).rejects.toThrow(KernelError);
    expect(rec.dispatchCount).toBe(0);
  });
});
