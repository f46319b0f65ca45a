// Training attention forward (out, lse) and backward (dq, dk, dv) vs the float64 reference,
// causal and bidirectional, with and without GQA. Tolerances: f32 softmax and dot products over
// D and T terms: out 2e-6 abs + 1e-4 rel; lse 1e-5; grads 2e-5 abs + 1e-3 rel (sums of T
// products of softmax weights with dots over D, whose relative error grows with cancellation).
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { attentionBackward, attentionTrain, randomF32 } from '../src/index.js';
import { refAttentionBackward, refAttentionTrain, type AttnShape } from '../src/reference/index.js';
import { expectClose, useGpu } from './setup.js';

const gpu = useGpu();

async function check(s: AttnShape, seed: number): Promise<void> {
  const g = await gpu();
  const nq = s.B * s.T * s.H * s.D;
  const nk = s.B * s.T * s.Hkv * s.D;
  const q = randomF32(nq, seed, -2, 2);
  const k = randomF32(nk, seed + 1, -2, 2);
  const v = randomF32(nk, seed + 2);
  const dOut = randomF32(nq, seed + 3);
  const rec = g.recorder();
  const tq = g.upload(q, [s.B, s.T, s.H, s.D]);
  const tk = g.upload(k, [s.B, s.T, s.Hkv, s.D]);
  const tv = g.upload(v, [s.B, s.T, s.Hkv, s.D]);
  const f = await attentionTrain(rec, tq, tk, tv, { causal: s.causal });
  const b = await attentionBackward(rec, tq, tk, tv, f.out, g.upload(dOut, [s.B, s.T, s.H, s.D]), f.lse, { causal: s.causal });
  const [out, lse, dq, dk, dv] = [f.out, f.lse, b.dq, b.dk, b.dv].map((t) => rec.read(t));
  await rec.submit();
  const rf = refAttentionTrain(s, q, k, v);
  const rb = refAttentionBackward(s, q, k, v, dOut);
  expectClose(await out!, rf.out, 2e-6, 1e-4);
  expectClose(await lse!, rf.lse, 1e-5, 1e-5);
  expectClose(await dq!, rb.dq, 2e-5, 1e-3);
  expectClose(await dk!, rb.dk, 2e-5, 1e-3);
  expectClose(await dv!, rb.dv, 2e-5, 1e-3);
}

describe('attention train forward + backward', () => {
  it('random small shapes (GQA, causal or not)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 2 }),
        fc.integer({ min: 1, max: 19 }),
        fc.constantFrom([1, 1], [2, 2], [4, 2], [3, 1]),
        fc.constantFrom(4, 8, 16),
        fc.boolean(),
        fc.integer({ min: 0, max: 1e6 }),
        async (B, T, [H, Hkv], D, causal, seed) => check({ B, T, H: H!, Hkv: Hkv!, D, causal }, seed),
      ),
      { numRuns: 8 },
    );
  });

  it('training shapes: T = 300, D = 64 (decoder, causal) and T = 50, D = 32 (vision tower)', async () => {
    await check({ B: 1, T: 300, H: 2, Hkv: 1, D: 64, causal: true }, 7);
    await check({ B: 2, T: 50, H: 4, Hkv: 4, D: 32, causal: false }, 8);
  });

  it('refuses mismatched shapes with the kernel name', async () => {
    const g = await gpu();
    const rec = g.recorder();
    const q = g.empty([1, 4, 3, 8]);
    await expect(attentionTrain(rec, q, g.empty([1, 4, 2, 8]), g.empty([1, 4, 2, 8]), { causal: true })).rejects.toThrow(/attentionTrain: q heads 3 .* are not a multiple of kv heads 2/);
    await expect(attentionTrain(rec, g.empty([1, 4, 2, 6]), g.empty([1, 4, 2, 6]), g.empty([1, 4, 2, 6]), { causal: true })).rejects.toThrow(/attentionTrain: head dim 6 .* must be a multiple of 4/);
    await expect(attentionBackward(rec, q, g.empty([1, 4, 3, 8]), g.empty([1, 4, 3, 8]), q, q, g.empty([1, 4, 2]), { causal: false })).rejects.toThrow(/attentionBackward: lse for q \[1, 4, 3, 8\] has shape \[1, 4, 2\]; expected \[1, 4, 3\]/);
  });
});
