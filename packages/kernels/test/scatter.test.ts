import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { randomF32, rng, scatterRows } from '../src/index.js';
import { refScatterRows } from '../src/reference/index.js';
import { useGpu } from './setup.js';

const gpu = useGpu();

/** m distinct rows out of n, in random order. */
function distinctRows(n: number, m: number, seed: number): Int32Array {
  const r = rng(seed);
  const all = Int32Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    [all[i], all[j]] = [all[j]!, all[i]!];
  }
  return all.slice(0, m);
}

// A scatter is a copy: results must equal the reference exactly.
describe('scatterRows vs reference', () => {
  it('odd shapes, host and tensor rows; untouched rows keep their values', async () => {
    const g = await gpu();
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 60 }), fc.integer({ min: 1, max: 70 }), fc.integer({ min: 0, max: 1e6 }), async (n, h, seed) => {
        const m = 1 + Math.floor(rng(seed)() * n);
        const dst = randomF32(n * h, seed);
        const src = randomF32(m * h, seed + 1, 5, 6);
        const rows = distinctRows(n, m, seed + 2);
        const rec = g.recorder();
        const d1 = g.upload(dst, [n, h]);
        const d2 = g.upload(dst, [n, h]);
        const ts = g.upload(src, [m, h]);
        expect(await scatterRows(rec, d1, ts, rows)).toBe(d1);
        await scatterRows(rec, d2, ts, g.upload(rows, [m], 'i32'));
        const a = rec.read(d1);
        const b = rec.read(d2);
        await rec.submit();
        const ref = Array.from(refScatterRows(dst, h, src, rows));
        expect(Array.from(await a)).toEqual(ref);
        expect(Array.from(await b)).toEqual(ref);
      }),
      { numRuns: 8 },
    );
  });

  it('i32 tensors are copied bit for bit; tensor rows out of range are skipped', async () => {
    const g = await gpu();
    const rec = g.recorder();
    const dst = g.upload(Int32Array.from({ length: 12 }, (_, i) => i), [4, 3], 'i32');
    await scatterRows(rec, dst, g.upload([-7, -8, -9, 70, 80, 90], [2, 3], 'i32'), [3, 0]);
    const f = g.upload(new Float32Array(6).fill(1), [2, 3]);
    await scatterRows(rec, f, g.upload([7, 8, 9, 4, 5, 6], [2, 3]), g.upload([5, 1], [2], 'i32'));
    const a = rec.read(dst);
    const b = rec.read(f);
    await rec.submit();
    expect(Array.from(await a)).toEqual([70, 80, 90, 3, 4, 5, 6, 7, 8, -7, -8, -9]);
    expect(Array.from(await b)).toEqual([1, 1, 1, 4, 5, 6]);
  });

  it('rejects out-of-range and duplicate rows, and mismatched shapes or dtypes', async () => {
    const g = await gpu();
    const rec = g.recorder();
    const dst = g.upload(randomF32(8 * 4, 1), [8, 4]);
    const src = g.upload(randomF32(3 * 4, 2), [3, 4]);
    await expect(scatterRows(rec, dst, src, [1, 9, 2])).rejects.toThrow(/scatterRows: row 9 at position 1 is outside the rows of dst \[8, 4\] \[0, 8\)/);
    await expect(scatterRows(rec, dst, src, [1, 2, 1])).rejects.toThrow(/scatterRows: row 1 appears at positions 0 and 2; duplicates are not allowed/);
    await expect(scatterRows(rec, dst, src, [1, 2])).rejects.toThrow(/scatterRows: 2 rows for src \[3, 4\]; one row index per src row/);
    await expect(scatterRows(rec, dst, g.upload(randomF32(6, 2), [2, 3]), [1, 2])).rejects.toThrow(/scatterRows: src \[2, 3\] and dst \[8, 4\] differ in row length/);
    await expect(scatterRows(rec, dst, g.upload([1, 2, 3, 4], [1, 4], 'i32'), [1])).rejects.toThrow(/scatterRows: src \[1, 4\] is i32 but dst \[8, 4\] is f32/);
    await expect(scatterRows(rec, dst, dst.rows(0, 3), [4, 5, 6])).rejects.toThrow(/scatterRows: output \[8, 4\] overlaps input \[3, 4\]/);
  });
});
