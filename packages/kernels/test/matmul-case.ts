// Shared by matmul.test.ts and matmul-gpu.test.ts: one matmul case, run on the GPU with seeded
// inputs in [-1, 1], against the float64 reference (on the f16-rounded W for f16 weights, which the
// f16 load path widens exactly), and the tolerance the two files justify for their K ranges.
import { expect } from 'vitest';
import { matmul, randomF32, roundToF16, type Gpu, type MatmulOptions } from '../src/index.js';
import { refMatmul } from '../src/reference/index.js';

/** atol for a K-term f32 dot product of inputs in [-1, 1] (each test file argues its K range). */
export const tol = (k: number): number => 1e-5 * Math.sqrt(k);

export interface Case {
  lead: number[];
  n: number;
  k: number;
  f16: boolean;
  bias: boolean;
  /** Default: from the shape (m * 7919 + n * 31 + k). */
  seed?: number;
}

/** Y = x W^T (+ bias) of case `c` with matmul options `opts`; the output shape is checked. */
export async function runMatmul(g: Gpu, c: Case, opts: MatmulOptions): Promise<{ got: Float32Array; ref: Float64Array; dispatches: number }> {
  const m = c.lead.reduce((a, b) => a * b, 1);
  const seed = c.seed ?? m * 7919 + c.n * 31 + c.k;
  const x = randomF32(m * c.k, seed);
  const w = randomF32(c.n * c.k, seed + 1);
  const b = c.bias ? randomF32(c.n, seed + 2) : null;
  const rec = g.recorder();
  const y = await matmul(rec, g.upload(x, [...c.lead, c.k]), g.upload(w, [c.n, c.k], c.f16 ? 'f16' : 'f32'), { ...opts, ...(b ? { bias: g.upload(b, [c.n]) } : {}) });
  expect(y.shape).toEqual([...c.lead, c.n]);
  const dispatches = rec.dispatchCount;
  const out = rec.read(y);
  await rec.submit();
  const wRef = c.f16 ? Float64Array.from(w, roundToF16) : w;
  return { got: (await out) as Float32Array, ref: refMatmul(x, wRef, b, m, c.n, c.k), dispatches };
}
