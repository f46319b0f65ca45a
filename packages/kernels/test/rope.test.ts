import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { randomF32, rope, ropeAt, ropeInvFreq, ropeTable } from '../src/index.js';
import { refRope, refRopeAt } from '../src/reference/index.js';
import { expectClose, useGpu } from './setup.js';

const gpu = useGpu();

// Tolerance: for |x| <= 1, 4e-6 abs at every position below 2^24. The angle is reduced to
// ~1e-7 revolutions (see wgsl/rope.wgsl), so the error is that of f32 sin/cos on [-pi, pi] and
// one multiply-add, independent of the position. (A plain f32 pos * inv_freq misses by ~1e-3
// at pos 32000: checked below, so this tolerance does tell the two apart.)
const ATOL = 4e-6;

async function check(B: number, T: number, H: number, D: number, pos0: number, theta: number, seed: number): Promise<void> {
  const g = await gpu();
  const x = randomF32(B * T * H * D, seed);
  const rec = g.recorder();
  const y = rec.read(await rope(rec, g.upload(x, [B, T, H, D]), { pos0, theta }));
  await rec.submit();
  expectClose(await y, refRope(x, [B, T, H, D], pos0, theta), ATOL);
}

describe('rope vs float64 reference', () => {
  it('odd shapes at small positions', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 3 }),
        fc.integer({ min: 1, max: 9 }),
        fc.integer({ min: 1, max: 5 }),
        fc.integer({ min: 1, max: 40 }).map((h) => 2 * h),
        fc.integer({ min: 0, max: 100 }),
        fc.integer({ min: 0, max: 1e6 }),
        async (B, T, H, D, pos0, seed) => check(B, T, H, D, pos0, 10000, seed),
      ),
      { numRuns: 8 },
    );
  });

  for (const [pos0, theta] of [[4000, 10000], [4000, 1e6], [32000, 1e6], [32000, 10000], [1_000_000, 1e6], [2 ** 24 - 8, 500000]] as const) {
    it(`large positions: pos0 = ${pos0}, theta = ${theta}`, async () => {
      await check(2, 8, 3, 128, pos0, theta, pos0 + 1);
    });
  }

  it('a plain f32 angle would fail this tolerance at pos 32000 (the test can tell)', () => {
    const D = 128;
    const f32 = Math.fround;
    const inv = ropeInvFreq(D, 10000);
    let worst = 0;
    for (let t = 0; t < 8; t++) {
      for (let i = 0; i < D / 2; i++) {
        const exact = (32000 + t) * inv[i]!;
        const naive = f32(f32(32000 + t) * f32(inv[i]!));
        worst = Math.max(worst, Math.abs(Math.sin(naive) - Math.sin(exact)));
      }
    }
    expect(worst).toBeGreaterThan(100 * ATOL);
  });

  it('the frequency table splits r = inv_freq / 2pi into exact 12-bit parts', () => {
    const inv = ropeInvFreq(64, 1e6);
    const tab = ropeTable(inv);
    for (let i = 0; i < 32; i++) {
      const [r1, r2, r3] = [tab[4 * i]!, tab[4 * i + 1]!, tab[4 * i + 2]!];
      for (const v of [r1, r2]) {
        if (v === 0) continue;
        const m = Math.abs(v) / 2 ** (Math.floor(Math.log2(Math.abs(v))) - 11);
        expect(Number.isInteger(m) && m < 4097).toBe(true); // at most 12 significant bits
      }
      expect(Math.abs(r1 + r2 + r3 - inv[i]! / (2 * Math.PI))).toBeLessThan((inv[i]! / (2 * Math.PI)) * 2 ** -46);
    }
  });

  it('explicit invFreq (scaled RoPE), same positions for every batch row, and a given output', async () => {
    const g = await gpu();
    const [B, T, H, D] = [3, 5, 2, 16];
    const x = randomF32(B * T * H * D, 11);
    const inv = ropeInvFreq(D, 10000).map((f, i) => (i < 4 ? f : f / 8));
    const rec = g.recorder();
    const out = g.empty([B, T, H, D]);
    const y = await rope(rec, g.upload(x, [B, T, H, D]), { pos0: 7000, theta: 10000, invFreq: inv, out });
    expect(y).toBe(out);
    const r = rec.read(y);
    await rec.submit();
    const got = await r;
    expectClose(got, refRope(x, [B, T, H, D], 7000, 10000, inv), ATOL);
    // identical inputs in different batch rows get identical outputs
    const x2 = new Float32Array(x);
    x2.copyWithin(T * H * D, 0, T * H * D);
    const rec2 = g.recorder();
    const r2 = rec2.read(await rope(rec2, g.upload(x2, [B, T, H, D]), { pos0: 7000, theta: 10000 }));
    await rec2.submit();
    const got2 = await r2;
    expect(Array.from(got2.slice(T * H * D, 2 * T * H * D))).toEqual(Array.from(got2.slice(0, T * H * D)));
  });

  it('rejects bad shapes, positions and frequencies', async () => {
    const g = await gpu();
    const rec = g.recorder();
    const x = g.upload(randomF32(2 * 3 * 4 * 6, 1), [2, 3, 4, 6]);
    await expect(rope(rec, g.upload(randomF32(30, 1), [1, 2, 3, 5]), { pos0: 0, theta: 1e4 })).rejects.toThrow(/rope: head dim 5 of x \[1, 2, 3, 5\] must be even/);
    await expect(rope(rec, g.upload(randomF32(24, 1), [4, 6]), { pos0: 0, theta: 1e4 })).rejects.toThrow(/rope: tensor \[4, 6\] has rank 2; expected rank 4/);
    await expect(rope(rec, g.empty([1, 1, 4097, 2]), { pos0: 0, theta: 1e4 })).rejects.toThrow(/rope: x \[1, 1, 4097, 2\] has 4097 heads; 1 to 4096 are supported/);
    await expect(rope(rec, x, { pos0: -1, theta: 1e4 })).rejects.toThrow(/rope: positions \[-1, 2\) must be integers in \[0, 2\^24\)/);
    await expect(rope(rec, x, { pos0: 2 ** 24 - 2, theta: 1e4 })).rejects.toThrow(/rope: positions/);
    await expect(rope(rec, x, { pos0: 0, theta: 0 })).rejects.toThrow(/rope: theta must be a finite number > 0/);
    await expect(rope(rec, x, { pos0: 0, theta: 1e4, invFreq: [1, 2] })).rejects.toThrow(/rope: invFreq has 2 values; head dim 6 needs 3/);
    await expect(rope(rec, x, { pos0: 0, theta: 1e4, out: g.empty([2, 3, 4, 5]) })).rejects.toThrow(/rope: output has shape \[2, 3, 4, 5\]; expected \[2, 3, 4, 6\]/);
  });

  it('ropeAt: a position per (token, frequency) on odd shapes, M-RoPE-like and 2-D tables, vs float64', async () => {
    const g = await gpu();
    // (B, T, H, D, largest position); explicit invFreq on the 2-D case (two copies of a D/4 table, as the vision tower)
    for (const [B, T, H, D, maxPos, twoD] of [[1, 7, 3, 10, 50, false], [2, 5, 2, 16, 40000, false], [1, 9, 5, 20, 13, true]] as const) {
      const half = D / 2;
      const r = randomF32(T * half, B * 100 + T);
      const pos = Uint32Array.from(r, (v) => Math.floor(Math.abs(v) * maxPos));
      const inv = twoD ? Float64Array.from({ length: half }, (_, i) => 10000 ** (-(2 * (i % (half / 2))) / half)) : undefined;
      const x = randomF32(B * T * H * D, D);
      const rec = g.recorder();
      const y = rec.read(await ropeAt(rec, g.upload(x, [B, T, H, D]), g.upload(pos, [T, half], 'u32'), { theta: 10000, ...(inv ? { invFreq: inv } : {}) }));
      await rec.submit();
      expectClose(await y, refRopeAt(x, [B, T, H, D], pos, 10000, inv), ATOL);
    }
  });

  it('ropeAt with every frequency at pos0 + t is bit-identical to rope (M-RoPE on text tokens)', async () => {
    const g = await gpu();
    const [B, T, H, D, pos0] = [2, 6, 3, 24, 31000];
    const x = randomF32(B * T * H * D, 5);
    const pos = Uint32Array.from({ length: T * (D / 2) }, (_, k) => pos0 + Math.floor(k / (D / 2)));
    const rec = g.recorder();
    const a = rec.read(await rope(rec, g.upload(x, [B, T, H, D]), { pos0, theta: 1e6 }));
    const b = rec.read(await ropeAt(rec, g.upload(x, [B, T, H, D]), g.upload(pos, [T, D / 2], 'u32'), { theta: 1e6 }));
    await rec.submit();
    expect(Array.from(await b)).toEqual(Array.from(await a));
  });

  it('ropeAt rejects a position table of the wrong shape or dtype', async () => {
    const g = await gpu();
    const rec = g.recorder();
    const x = g.upload(randomF32(2 * 3 * 4 * 6, 1), [2, 3, 4, 6]);
    await expect(ropeAt(rec, x, g.upload(new Uint32Array(9), [3, 3], 'u32'), { theta: 1e4 })).resolves.toBeDefined();
    await expect(ropeAt(rec, x, g.upload(new Uint32Array(8), [4, 2], 'u32'), { theta: 1e4 })).rejects.toThrow(/ropeAt: positions has shape \[4, 2\]; expected \[3, 3\]/);
    await expect(ropeAt(rec, x, g.upload(new Float32Array(9), [3, 3]), { theta: 1e4 })).rejects.toThrow(/ropeAt/);
  });
});
