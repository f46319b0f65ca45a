// Activation, norm, RoPE, embedding, row-scatter and cross-entropy backward kernels vs their
// float64 references (which grad_reference.test.ts checks by finite differences).
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  activationBackward,
  crossEntropyTrain,
  embeddingBackward,
  layernormBackward,
  randomF32,
  rmsnormBackward,
  rope,
  ropeBackward,
  scatterRowsBackward,
  siluMulBackward,
} from '../src/index.js';
import {
  refActBackward,
  refCrossEntropyTrain,
  refEmbeddingBackward,
  refLayerNormBackward,
  refRmsNormBackward,
  refRopeBackward,
  refScatterRowsBackward,
  refSiluMulBackward,
} from '../src/reference/index.js';
import { expectClose, useGpu } from './setup.js';

const gpu = useGpu();

describe('activation backward', () => {
  // f32 exp/erf approximations (~1.2e-7) times |dy| <= 1, plus the x phi(x) term: 2e-6 abs + 1e-5 rel
  it('gelu, gelu_tanh, quick_gelu, silu and SwiGLU on odd sizes', async () => {
    const g = await gpu();
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 2000 }), fc.integer({ min: 0, max: 1e6 }), async (n, seed) => {
        const x = randomF32(n, seed, -6, 6);
        const up = randomF32(n, seed + 1, -2, 2);
        const dy = randomF32(n, seed + 2);
        const rec = g.recorder();
        const tx = g.upload(x, [n]);
        const tdy = g.upload(dy, [n]);
        const outs = [];
        for (const op of ['gelu', 'gelu_tanh', 'quick_gelu', 'silu'] as const) outs.push([rec.read(await activationBackward(rec, op, tx, tdy)), refActBackward(op, x, dy)] as const);
        const sw = await siluMulBackward(rec, tx, g.upload(up, [n]), tdy);
        const dg = rec.read(sw.dgate);
        const du = rec.read(sw.dup);
        await rec.submit();
        for (const [got, ref] of outs) expectClose(await got, ref, 2e-6, 1e-5);
        const r = refSiluMulBackward(x, up, dy);
        expectClose(await dg, r.dgate, 2e-6, 1e-5);
        expectClose(await du, r.dup, 2e-6, 1e-5);
      }),
      { numRuns: 5 },
    );
  });

  it('rejects a dy of another shape', async () => {
    const g = await gpu();
    const rec = g.recorder();
    await expect(activationBackward(rec, 'gelu', g.empty([3, 4]), g.empty([4, 3]))).rejects.toThrow(/geluBackward: dy \(for input \[3, 4\]\) has shape \[4, 3\]; expected \[3, 4\]/);
  });
});

describe('norm backward', () => {
  // dx: per-row f32 sums of h terms: 2e-5 abs + 1e-4 rel; dweight/dbias: sums over rows, 1e-4 rel
  it('layernorm and rmsnorm: dx, dweight, dbias on odd shapes, with an offset input', async () => {
    const g = await gpu();
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 150 }), fc.integer({ min: 1, max: 200 }), fc.boolean(), fc.integer({ min: 0, max: 1e6 }), async (rows, h, offset, seed) => {
        const off = offset ? 100 : 0;
        const x = randomF32(rows * h, seed, off - 2, off + 2);
        const dy = randomF32(rows * h, seed + 1);
        const w = randomF32(h, seed + 2, 0.5, 1.5);
        const eps = 1e-5;
        const rec = g.recorder();
        const tx = g.upload(x, [rows, h]);
        const tdy = g.upload(dy, [rows, h]);
        const tw = g.upload(w, [h]);
        const ln = await layernormBackward(rec, tx, tdy, tw, eps);
        const rms = await rmsnormBackward(rec, tx, tdy, tw, eps);
        const got = [ln.dx, ln.dweight, ln.dbias, rms.dx, rms.dweight].map((t) => rec.read(t));
        await rec.submit();
        const rl = refLayerNormBackward(x, dy, h, w, eps);
        const rr = refRmsNormBackward(x, dy, h, w, eps);
        // with the +100 offset, x itself carries f32 rounding of 100 * 6e-8 relative to its spread
        const tol = offset ? 2e-4 : 2e-5;
        expectClose(await got[0]!, rl.dx, tol, 1e-4);
        expectClose(await got[1]!, rl.dweight, tol * Math.sqrt(rows), 1e-4);
        expectClose(await got[2]!, rl.dbias, 1e-5 * Math.sqrt(rows), 1e-4);
        expectClose(await got[3]!, rr.dx, 2e-5, 1e-4);
        expectClose(await got[4]!, rr.dweight, 1e-4 * Math.sqrt(rows), 1e-4);
      }),
      { numRuns: 6 },
    );
  });

  it('accumulates weight gradients over micro-steps', async () => {
    const g = await gpu();
    const [rows, h] = [70, 9];
    const x = randomF32(rows * h, 1);
    const dy = randomF32(rows * h, 2);
    const w = randomF32(h, 3, 0.5, 1.5);
    const rec = g.recorder();
    const dw = g.upload(new Float32Array(h), [h]);
    const db = g.upload(new Float32Array(h), [h]);
    for (let step = 0; step < 2; step++) await layernormBackward(rec, g.upload(x, [rows, h]), g.upload(dy, [rows, h]), g.upload(w, [h]), 1e-5, { accumulate: { dweight: dw, dbias: db } });
    const gw = rec.read(dw);
    await rec.submit();
    const r = refLayerNormBackward(x, dy, h, w, 1e-5);
    expectClose(await gw, r.dweight.map((v) => 2 * v), 1e-4, 1e-4);
  });
});

describe('rope backward', () => {
  // sin/cos of the same reduced angle as the forward: 1e-6 abs
  it('matches the reference and inverts the forward', async () => {
    const g = await gpu();
    for (const [B, T, H, D, pos0] of [[1, 5, 3, 8, 0], [2, 7, 2, 6, 1000], [1, 3, 1, 2, 40000]] as const) {
      const n = B * T * H * D;
      const x = randomF32(n, n);
      const dy = randomF32(n, n + 1);
      const rec = g.recorder();
      const dx = rec.read(await ropeBackward(rec, g.upload(dy, [B, T, H, D]), { pos0, theta: 10000 }));
      const back = rec.read(await ropeBackward(rec, await rope(rec, g.upload(x, [B, T, H, D]), { pos0, theta: 10000 }), { pos0, theta: 10000 }));
      await rec.submit();
      expectClose(await dx, refRopeBackward(dy, [B, T, H, D], pos0, 10000), 1e-6, 0);
      expectClose(await back, x, 1e-6, 0);
    }
  });
});

describe('embedding and scatter backward', () => {
  it('sums dy rows per id (repeats, skipped -1 ids, accumulate) and gathers scatter grads', async () => {
    const g = await gpu();
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 40 }), fc.integer({ min: 1, max: 300 }), fc.integer({ min: 1, max: 37 }), fc.integer({ min: 0, max: 1e6 }), async (vocab, n, h, seed) => {
        const r = randomF32(n, seed, 0, 1);
        const ids = Array.from(r, (u) => (u < 0.1 ? -1 : Math.floor(u * vocab) % vocab));
        const dy = randomF32(n * h, seed + 1);
        const prev = randomF32(vocab * h, seed + 2);
        const rows = Array.from({ length: Math.min(n, 5) }, (_, i) => (i * 7) % n);
        const rec = g.recorder();
        const tdy = g.upload(dy, [n, h]);
        const fresh = rec.read(await embeddingBackward(rec, tdy, ids, vocab));
        const acc = rec.read(await embeddingBackward(rec, tdy, ids, vocab, { accumulate: g.upload(prev, [vocab, h]) }));
        const gathered = rec.read(await scatterRowsBackward(rec, tdy, rows));
        await rec.submit();
        expectClose(await fresh, refEmbeddingBackward(dy, ids, vocab, h), 1e-5, 1e-5);
        expectClose(await acc, refEmbeddingBackward(dy, ids, vocab, h, prev), 1e-5, 1e-5);
        expectClose(await gathered, refScatterRowsBackward(dy, rows, h), 0, 0);
      }),
      { numRuns: 6 },
    );
  });

  it('names a bad id', async () => {
    const g = await gpu();
    const rec = g.recorder();
    await expect(embeddingBackward(rec, g.empty([3, 2]), [0, 5, 1], 4)).rejects.toThrow(/embeddingBackward: id 5 at position 1 is outside the vocabulary \[0, 4\)/);
    await expect(scatterRowsBackward(rec, g.empty([3, 2]), [3])).rejects.toThrow(/scatterRowsBackward: row 3 at position 0 is outside/);
  });
});

describe('cross-entropy train', () => {
  // f32 logsumexp over V terms: loss 1e-5 abs + 1e-5 rel; dlogits 1e-6 abs (values <= 1/count)
  it('loss and dlogits with ignored rows on odd shapes', async () => {
    const g = await gpu();
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 60 }), fc.integer({ min: 1, max: 500 }), fc.integer({ min: 0, max: 1e6 }), async (m, v, seed) => {
        const logits = randomF32(m * v, seed, -8, 8);
        const r = randomF32(m, seed + 1, 0, 1);
        const targets = Array.from(r, (u, i) => (u < 0.25 && i > 0 ? -1 : Math.floor(u * v) % v));
        const rec = g.recorder();
        const res = await crossEntropyTrain(rec, g.upload(logits, [m, v]), targets);
        const loss = rec.read(res.loss);
        const dl = rec.read(res.dlogits);
        await rec.submit();
        const ref = refCrossEntropyTrain(logits, targets, v);
        expect(res.count).toBe(targets.filter((t) => t >= 0).length);
        expectClose(await loss, ref.loss, 1e-5, 1e-5);
        expectClose(await dl, ref.dlogits, 1e-6, 1e-4);
      }),
      { numRuns: 6 },
    );
  });

  it('names a bad target', async () => {
    const g = await gpu();
    await expect(crossEntropyTrain(g.recorder(), g.empty([2, 3]), [0, 3])).rejects.toThrow(/crossEntropyTrain: target 3 at row 1 is outside the vocabulary \[0, 3\)/);
  });
});
