// AdamW step and the gradient-norm clip vs the float64 reference.
// Tolerance: one f32 AdamW step: 1e-6 abs + 1e-5 rel on param/m/v; the sum of squares (f32,
// blocked) 1e-5 rel.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { adam, gradNorm, randomF32, scaleByTensor } from '../src/index.js';
import { refAdam, refClipScale, refSumSquares } from '../src/reference/index.js';
import { expectClose, useGpu } from './setup.js';

const gpu = useGpu();

describe('adam', () => {
  it('several AdamW steps on odd sizes match the reference', async () => {
    const g = await gpu();
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 3000 }), fc.boolean(), fc.integer({ min: 0, max: 1e6 }), async (n, decay, seed) => {
        const hyper = { lr: 1e-2, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: decay ? 0.1 : 0 };
        let p = Float64Array.from(randomF32(n, seed));
        let m = new Float64Array(n);
        let v = new Float64Array(n);
        const tp = g.upload(Float32Array.from(p), [n]);
        const tm = g.zeros([n]);
        const tv = g.zeros([n]);
        const rec = g.recorder();
        for (let step = 1; step <= 3; step++) {
          const grad = randomF32(n, seed + step);
          await adam(rec, tp, g.upload(grad, [n]), tm, tv, { ...hyper, step });
          ({ param: p, m, v } = refAdam(p, grad, m, v, { ...hyper, step }));
        }
        const [gp, gm, gv] = [tp, tm, tv].map((t) => rec.read(t));
        await rec.submit();
        expectClose(await gp!, p, 1e-6, 1e-5);
        expectClose(await gm!, m, 1e-6, 1e-5);
        expectClose(await gv!, v, 1e-8, 1e-5);
      }),
      { numRuns: 5 },
    );
  });

  it('refuses a grad that aliases the parameter, and bad hyper-parameters', async () => {
    const g = await gpu();
    const rec = g.recorder();
    const p = g.zeros([10]);
    const o = { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, step: 1 };
    await expect(adam(rec, p, p, g.zeros([10]), g.zeros([10]), o)).rejects.toThrow(/adam: output \[10\] overlaps input \[10\]/);
    await expect(adam(rec, p, g.zeros([10]), g.zeros([10]), g.zeros([10]), { ...o, step: 0 })).rejects.toThrow(/adam: step must be an integer >= 1, got 0/);
    await expect(adam(rec, p, g.zeros([9]), g.zeros([10]), g.zeros([10]), o)).rejects.toThrow(/adam: grad for param \[10\] has shape \[9\]/);
  });
});

describe('gradNorm', () => {
  it('sums squares over many tensors, clips, and feeds adam without a readback', async () => {
    const g = await gpu();
    const sizes = [1, 255, 256, 257, 5000, 33];
    const host = sizes.map((n, i) => randomF32(n, i + 1));
    const rec = g.recorder();
    const ts = host.map((h) => g.upload(h, [h.length]));
    const ref = refSumSquares(host);
    const maxNorm = Math.sqrt(ref) / 4;
    const gn = await gradNorm(rec, ts, maxNorm);
    const none = await gradNorm(rec, ts);
    const [ss, sc, sc1] = [gn.sumSquares, gn.scale, none.scale].map((t) => rec.read(t));
    // clip then step: equal to adam with the scale folded in
    const p0 = randomF32(257, 99);
    const tp = g.upload(p0, [257]);
    const o = { lr: 0.1, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, step: 1 };
    await adam(rec, tp, ts[3]!, g.zeros([257]), g.zeros([257]), { ...o, gradScale: gn.scale });
    const pr = rec.read(tp);
    const scaled = rec.read(await scaleByTensor(rec, g.upload(host[4]!, [5000]), gn.scale));
    await rec.submit();
    const clip = refClipScale(ref, maxNorm);
    expect(clip).toBeLessThan(1);
    expectClose(await ss!, [ref], 0, 1e-5);
    expectClose(await sc!, [clip], 0, 1e-5);
    expectClose(await sc1!, [1], 0, 0);
    expectClose(await pr, refAdam(p0, host[3]!, new Float64Array(257), new Float64Array(257), { ...o, gradScale: clip }).param, 1e-6, 1e-5);
    expectClose(await scaled, Float64Array.from(host[4]!, (x) => x * clip), 1e-7, 1e-5);
  });
});
