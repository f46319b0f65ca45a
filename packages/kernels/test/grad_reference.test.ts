// The float64 backward references against central finite differences of the float64 forward
// references (h = 1e-5; the FD error is ~1e-10 absolute, so atol 1e-8 + rtol 1e-5 is tight).
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { randomF32 } from '../src/index.js';
import {
  dotLoss,
  numericGrad,
  refActBackward,
  refAttention,
  refAttentionBackward,
  refAttentionTrain,
  refBinary,
  refColSum,
  refCrossEntropyTrain,
  refEmbedding,
  refEmbeddingBackward,
  refGemm,
  refLayerNorm,
  refLayerNormBackward,
  refLinear,
  refMeanLoss,
  refRmsNorm,
  refRmsNormBackward,
  refRope,
  refRopeBackward,
  refScatterRowsBackward,
  refSiluMulBackward,
  refUnary,
  type AttnShape,
} from '../src/reference/index.js';
import { expectClose } from './setup.js';

const f64 = (n: number, seed: number, lo = -1, hi = 1): Float64Array => Float64Array.from(randomF32(n, seed, lo, hi));
const fdClose = (analytic: ArrayLike<number>, fd: ArrayLike<number>): void => expectClose(analytic, fd, 1e-8, 1e-5);

describe('backward references vs finite differences', () => {
  it('linear layer: dX = dY·W, dW = dYᵀ·X, db = colsum(dY)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 6 }), fc.integer({ min: 1, max: 7 }), fc.integer({ min: 1, max: 5 }), fc.integer({ min: 0, max: 1e6 }), (m, n, k, seed) => {
        const x = f64(m * k, seed);
        const w = f64(n * k, seed + 1);
        const bias = f64(n, seed + 2);
        const dy = f64(m * n, seed + 3);
        const dx = refGemm(dy, w, m, k, n);
        const dw = refGemm(dy, x, n, k, m, true);
        const db = refColSum(dy, m, n);
        fdClose(dx, numericGrad(x, (xs) => dotLoss(refLinear(xs, w, bias, m, n, k), dy)));
        fdClose(dw, numericGrad(w, (ws) => dotLoss(refLinear(x, ws, bias, m, n, k), dy)));
        fdClose(db, numericGrad(bias, (bs) => dotLoss(refLinear(x, w, bs, m, n, k), dy)));
        // the transB form is the forward itself; transA+transB is (B·A)ᵀ
        expectClose(refGemm(x, w, m, n, k, false, true), refLinear(x, w, null, m, n, k), 0, 0);
        const both = refGemm(Float64Array.from({ length: k * m }, (_, i) => x[(i % m) * k + Math.floor(i / m)]!), w, m, n, k, true, true);
        expectClose(both, refLinear(x, w, null, m, n, k), 1e-15, 1e-12);
      }),
      { numRuns: 8 },
    );
  });

  it('activations and SwiGLU', () => {
    const x = f64(40, 1, -5, 5);
    const up = f64(40, 2, -2, 2);
    const dy = f64(40, 3);
    for (const op of ['gelu', 'gelu_tanh', 'quick_gelu', 'silu'] as const) {
      fdClose(refActBackward(op, x, dy), numericGrad(x, (xs) => dotLoss(refUnary(op, xs), dy)));
    }
    const { dgate, dup } = refSiluMulBackward(x, up, dy);
    fdClose(dgate, numericGrad(x, (g) => dotLoss(refBinary('silu_mul', g, up), dy)));
    fdClose(dup, numericGrad(up, (u) => dotLoss(refBinary('silu_mul', x, u), dy)));
  });

  it('layernorm and rmsnorm (dx, dweight, dbias), including an offset input', () => {
    for (const [rows, h, off] of [[3, 7, 0], [2, 16, 5], [4, 1, 0]] as const) {
      const x = f64(rows * h, h, -1 + off, 1 + off);
      const w = f64(h, h + 1, 0.5, 1.5);
      const b = f64(h, h + 2);
      const dy = f64(rows * h, h + 3);
      const eps = 1e-5;
      const ln = refLayerNormBackward(x, dy, h, w, eps);
      fdClose(ln.dx, numericGrad(x, (xs) => dotLoss(refLayerNorm(xs, h, w, b, eps), dy)));
      fdClose(ln.dweight, numericGrad(w, (ws) => dotLoss(refLayerNorm(x, h, ws, b, eps), dy)));
      fdClose(ln.dbias, numericGrad(b, (bs) => dotLoss(refLayerNorm(x, h, w, bs, eps), dy)));
      const rms = refRmsNormBackward(x, dy, h, w, eps);
      fdClose(rms.dx, numericGrad(x, (xs) => dotLoss(refRmsNorm(xs, h, w, eps), dy)));
      fdClose(rms.dweight, numericGrad(w, (ws) => dotLoss(refRmsNorm(x, h, ws, eps), dy)));
    }
  });

  it('rope: the backward is the inverse rotation', () => {
    const shape = [2, 3, 2, 6] as const;
    const x = f64(72, 5);
    const dy = f64(72, 6);
    fdClose(refRopeBackward(dy, shape, 7, 10000), numericGrad(x, (xs) => dotLoss(refRope(xs, shape, 7, 10000), dy)));
    // inverse: backward(forward(x)) = x
    expectClose(refRopeBackward(refRope(x, shape, 3, 100), shape, 3, 100), x, 1e-14, 0);
  });

  it('attention (causal and bidirectional, GQA): train forward matches refAttention; dq, dk, dv by FD', () => {
    for (const s of [
      { B: 1, T: 4, H: 2, Hkv: 2, D: 4, causal: true },
      { B: 2, T: 3, H: 4, Hkv: 2, D: 2, causal: false },
      { B: 1, T: 5, H: 2, Hkv: 1, D: 3, causal: true },
    ] satisfies AttnShape[]) {
      const nq = s.B * s.T * s.H * s.D;
      const nk = s.B * s.T * s.Hkv * s.D;
      const q = f64(nq, 10, -2, 2);
      const k = f64(nk, 11, -2, 2);
      const v = f64(nk, 12);
      const dOut = f64(nq, 13);
      const { out, lse } = refAttentionTrain(s, q, k, v);
      const base = refAttention({ q, kSuf: k, vSuf: v, B: s.B, Tn: s.T, Hq: s.H, Hkv: s.Hkv, D: s.D, Smax: s.T, causal: s.causal });
      expectClose(out, base.out, 1e-14, 1e-12);
      expect(lse.every(Number.isFinite)).toBe(true);
      const g = refAttentionBackward(s, q, k, v, dOut);
      fdClose(g.dq, numericGrad(q, (x) => dotLoss(refAttentionTrain(s, x, k, v).out, dOut)));
      fdClose(g.dk, numericGrad(k, (x) => dotLoss(refAttentionTrain(s, q, x, v).out, dOut)));
      fdClose(g.dv, numericGrad(v, (x) => dotLoss(refAttentionTrain(s, q, k, x).out, dOut)));
    }
  });

  it('embedding and row-scatter backward', () => {
    const [V, H] = [5, 3];
    const table = f64(V * H, 20);
    const ids = [3, 0, 3, -1, 4, 3];
    const dy = f64(ids.length * H, 21);
    const kept = ids.map((i) => Math.max(i, 0));
    // rows with id -1 (image positions) do not come from the table: mask them out of the loss
    const dyMasked = dy.map((g, i) => (ids[Math.floor(i / H)]! < 0 ? 0 : g));
    fdClose(refEmbeddingBackward(dy, ids, V, H), numericGrad(table, (t) => dotLoss(refEmbedding(t, H, kept), dyMasked)));
    const rows = [4, 1];
    const src = f64(rows.length * H, 22);
    const dst0 = f64(6 * H, 23);
    const ddst = f64(6 * H, 24);
    const scatter = (s: Float64Array): Float64Array => {
      const d = Float64Array.from(dst0);
      rows.forEach((r, i) => d.set(s.subarray(i * H, i * H + H), r * H));
      return d;
    };
    fdClose(refScatterRowsBackward(ddst, rows, H), numericGrad(src, (s) => dotLoss(scatter(s), ddst)));
  });

  it('cross-entropy: dlogits is the gradient of the mean loss over scored rows', () => {
    const [M, V] = [5, 7];
    const logits = f64(M * V, 30, -3, 3);
    const targets = [2, -1, 6, 0, -1];
    const { loss, dlogits } = refCrossEntropyTrain(logits, targets, V);
    expect(loss[1]).toBe(0);
    fdClose(dlogits, numericGrad(logits, (l) => refMeanLoss(l, targets, V)));
  });
});
