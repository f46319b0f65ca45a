// gemm (all four transpose combinations, accumulate) and colSum vs the float64 reference.
// Tolerance: f32 dot products of length K with |terms| <= 1: 1e-5 abs + 1e-4 rel.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { colSum, gemm, gemmBlock, randomF32, type GemmBlock } from '../src/index.js';
import { refColSum, refGemm } from '../src/reference/index.js';
import { expectClose, useGpu } from './setup.js';

const gpu = useGpu();

describe('gemm', () => {
  it('matches the reference on odd shapes for every transpose combination and register block', async () => {
    const g = await gpu();
    const side = fc.constantFrom(4, 8) as fc.Arbitrary<GemmBlock>;
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 70 }), fc.integer({ min: 1, max: 70 }), fc.integer({ min: 1, max: 45 }), side, side, fc.integer({ min: 0, max: 1e6 }), async (m, n, k, tm, tn, seed) => {
        const rec = g.recorder();
        const reads: [Promise<ArrayLike<number>>, Float64Array][] = [];
        for (const transA of [false, true]) {
          for (const transB of [false, true]) {
            const a = randomF32(m * k, seed + 1);
            const b = randomF32(k * n, seed + 2);
            const ta = g.upload(a, transA ? [k, m] : [m, k]);
            const tb = g.upload(b, transB ? [n, k] : [k, n]);
            reads.push([rec.read(await gemm(rec, ta, tb, { transA, transB, block: [tm, tn] })), refGemm(a, b, m, n, k, transA, transB)]);
          }
        }
        await rec.submit();
        for (const [got, ref] of reads) expectClose(await got, ref, 1e-5, 1e-4);
      }),
      { numRuns: 5 },
    );
  });

  it('covers the aligned (vec4) paths and a long reduction; accumulate adds into C', async () => {
    const g = await gpu();
    for (const [m, n, k] of [[8, 12, 16], [64, 32, 300], [5, 8, 1024]] as const) {
      const a = randomF32(m * k, m + k);
      const b = randomF32(k * n, n + k);
      const c0 = randomF32(m * n, m * n);
      const rec = g.recorder();
      const plain = rec.read(await gemm(rec, g.upload(a, [k, m]), g.upload(b, [k, n]), { transA: true }));
      const acc = g.upload(c0, [m, n]);
      const accd = rec.read(await gemm(rec, g.upload(a, [m, k]), g.upload(b, [n, k]), { transB: true, accumulate: acc }));
      await rec.submit();
      // the long sums (K = 1024) round more: 1e-4 abs
      expectClose(await plain, refGemm(a, b, m, n, k, true, false), 1e-4, 1e-4);
      expectClose(await accd, refGemm(a, b, m, n, k, false, true, c0), 1e-4, 1e-4);
    }
  });

  it('picks large blocks for large outputs and shrinks them for small ones', () => {
    expect(gemmBlock(1024, 1024)).toEqual([8, 8]);
    expect(gemmBlock(1, 100)).toEqual([4, 4]);
    const [tm, tn] = gemmBlock(64, 64);
    expect(Math.ceil(64 / tm) * Math.ceil(64 / tn)).toBeGreaterThanOrEqual(32);
  });

  it('flattens leading dims (dW = dYᵀ·X over [B, T, N]) and refuses bad shapes', async () => {
    const g = await gpu();
    const [B, T, N, Kd] = [2, 3, 5, 6];
    const dy = randomF32(B * T * N, 1);
    const x = randomF32(B * T * Kd, 2);
    const rec = g.recorder();
    const dw = rec.read(await gemm(rec, g.upload(dy, [B, T, N]), g.upload(x, [B, T, Kd]), { transA: true }));
    await expect(gemm(rec, g.upload(dy, [B * T, N]), g.upload(x, [B * T, Kd]))).rejects.toThrow(/gemm: inner dimensions differ: A \[6, 5\] · B \[6, 6\] \(5 vs 6\)/);
    await expect(gemm(rec, g.upload(dy, [B * T, N]), g.upload(x, [B * T, Kd]), { transA: true, out: g.empty([N, N]) })).rejects.toThrow(/gemm: output of .* has shape \[5, 5\]; expected \[5, 6\]/);
    await rec.submit();
    expectClose(await dw, refGemm(dy, x, N, Kd, B * T, true), 1e-5, 1e-4);
  });
});

describe('colSum', () => {
  it('sums columns over odd row counts (one and two stages), with accumulate', async () => {
    const g = await gpu();
    for (const [rows, n] of [[1, 1], [7, 13], [64, 5], [65, 3], [1000, 33]] as const) {
      const x = randomF32(rows * n, rows + n);
      const prev = randomF32(n, n);
      const rec = g.recorder();
      const s = rec.read(await colSum(rec, g.upload(x, [rows, n])));
      const acc = g.upload(prev, [n]);
      const sa = rec.read(await colSum(rec, g.upload(x, [1, rows, n]), { accumulate: acc }));
      await rec.submit();
      expectClose(await s, refColSum(x, rows, n), 1e-5, 1e-5);
      expectClose(await sa, refColSum(x, rows, n, prev), 1e-5, 1e-5);
    }
  });
});
