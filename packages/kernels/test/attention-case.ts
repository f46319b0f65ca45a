// Shared by attention.test.ts and attention-flash.test.ts: one attention case (the shapes of
// ops/attention/flash.ts's AttentionShape plus a seed), its seeded host data, the upload and the
// float64 reference's arguments.
import { expect } from 'vitest';
import { randomF32, type AttentionArgs, type Gpu } from '../src/index.js';
import type { AttentionShape } from '../src/ops/attention/flash.js';

export interface Case extends AttentionShape {
  seed: number;
}

export interface Host {
  q: Float32Array;
  kPre: Float32Array;
  vPre: Float32Array;
  kSuf: Float32Array;
  vSuf: Float32Array;
}

// q, k in [-2, 2] so the softmax is far from uniform (scores up to ~D/sqrt(D)); v in [-1, 1].
export function hostData(c: Case): Host {
  return {
    q: randomF32(c.B * c.Tn * c.Hq * c.D, c.seed, -2, 2),
    kPre: randomF32(c.P * c.Hkv * c.D, c.seed + 1, -2, 2),
    vPre: randomF32(c.P * c.Hkv * c.D, c.seed + 2),
    kSuf: randomF32(c.B * c.Smax * c.Hkv * c.D, c.seed + 3, -2, 2),
    vSuf: randomF32(c.B * c.Smax * c.Hkv * c.D, c.seed + 4),
  };
}

export type Dev = Pick<AttentionArgs, 'q' | 'kPre' | 'vPre' | 'kSuf' | 'vSuf'>;

export function upload(g: Gpu, c: Case, h: Host): Dev {
  return {
    q: g.upload(h.q, [c.B, c.Tn, c.Hq, c.D]),
    ...(c.P > 0 ? { kPre: g.upload(h.kPre, [c.P, c.Hkv, c.D]), vPre: g.upload(h.vPre, [c.P, c.Hkv, c.D]) } : {}),
    kSuf: g.upload(h.kSuf, [c.B, c.Smax, c.Hkv, c.D]),
    vSuf: g.upload(h.vSuf, [c.B, c.Smax, c.Hkv, c.D]),
  };
}

export const refArgs = (c: Case, h: Host) => ({ ...h, B: c.B, Tn: c.Tn, Hq: c.Hq, Hkv: c.Hkv, D: c.D, P: c.P, S: c.S, Smax: c.Smax, causal: c.causal });

/**
 * A patched output, bit for bit: values[layer, h, :] where mask[b, layer, h] is set at one of the
 * positions, the plain output elsewhere; at least one head is replaced.
 */
export function expectPatched(c: Case, got: ArrayLike<number>, plain: ArrayLike<number>, p: { values: Float32Array; mask: Uint32Array; positions: readonly number[]; layer: number; layers: number }): void {
  const { values, mask, positions, layer, layers: L } = p;
  let replaced = 0;
  for (let b = 0; b < c.B; b++) {
    for (let t = 0; t < c.Tn; t++) {
      for (let hh = 0; hh < c.Hq; hh++) {
        const on = positions.includes(t) && mask[(b * L + layer) * c.Hq + hh] === 1;
        const o = ((b * c.Tn + t) * c.Hq + hh) * c.D;
        for (let i = 0; i < c.D; i++) expect(got[o + i]).toBe(on ? values[(layer * c.Hq + hh) * c.D + i] : plain[o + i]);
        if (on) replaced++;
      }
    }
  }
  expect(replaced).toBeGreaterThan(0);
}
