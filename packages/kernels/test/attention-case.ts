// Shared by attention.test.ts and attention-flash.test.ts: one attention case (the shapes of
// ops/attention/flash.ts's AttentionShape plus a seed), its seeded host data, the upload and the
// float64 reference's arguments.
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
