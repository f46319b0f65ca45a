import { it } from 'vitest';
import { compareClose, crossEntropy, layernorm, logSoftmax, randomF32, rmsnorm, rope, softmax, argmax, type RowVariant } from '../src/index.js';
import { refCrossEntropy, refLayerNorm, refLogSoftmax, refRmsNorm, refRope, refSoftmax } from '../src/reference/index.js';
import { useGpu } from './setup.js';
const gpu = useGpu();
it('measure', async () => {
  const g = await gpu();
  for (const variant of ['row', 'workgroup'] as RowVariant[]) {
    for (const h of [37, 4096]) {
      const rows = 4;
      const x = randomF32(rows * h, 1, -3, 3); const off = x.map((v) => 1000 + v / 3);
      const w = randomF32(h, 2, -2, 2), b = randomF32(h, 3);
      const rec = g.recorder();
      const tw = g.upload(w, [h]), tb = g.upload(b, [h]);
      const a = rec.read(await layernorm(rec, g.upload(x, [rows, h]), tw, tb, 1e-5, { variant }));
      const o = rec.read(await layernorm(rec, g.upload(off, [rows, h]), tw, tb, 1e-6, { variant }));
      const r = rec.read(await rmsnorm(rec, g.upload(x, [rows, h]), tw, 1e-6, { variant }));
      await rec.submit();
      console.log('M', variant, h, 'ln', compareClose(await a, refLayerNorm(x, h, w, b, 1e-5), 0).maxAbs.toExponential(2), 'ln+1000', compareClose(await o, refLayerNorm(off, h, w, b, 1e-6), 0).maxAbs.toExponential(2), 'rms', compareClose(await r, refRmsNorm(x, h, w, 1e-6), 0).maxAbs.toExponential(2));
    }
    const n = variant === 'row' ? 20000 : 151936;
    const x = randomF32(2 * n, 4, -20, 20);
    const rec = g.recorder();
    const tx = g.upload(x, [2, n]);
    const s = rec.read(await softmax(rec, tx, { variant }));
    const l = rec.read(await logSoftmax(rec, tx, { variant }));
    const c = rec.read(await crossEntropy(rec, tx, [0, 1, 1], [5, 7, n - 1], { variant }));
    await rec.submit();
    const rs = refSoftmax(x, n);
    let maxRel = 0; const sv = await s; for (let i = 0; i < rs.length; i++) maxRel = Math.max(maxRel, Math.abs(sv[i]! - rs[i]!) / rs[i]!);
    console.log('M', variant, n, 'softmax maxRel', maxRel.toExponential(2), 'logsm maxAbs', compareClose(await l, refLogSoftmax(x, n), 0).maxAbs.toExponential(2), 'ce maxAbs', compareClose(await c, refCrossEntropy(x, n, [0, 1, 1], [5, 7, n - 1]), 0).maxAbs.toExponential(2));
  }
  for (const [pos0, theta] of [[0, 1e4], [4000, 1e6], [32000, 1e6], [32000, 1e4], [1e6, 1e6], [2 ** 24 - 8, 5e5]]) {
    const sh = [2, 8, 4, 128] as const; const x = randomF32(2 * 8 * 4 * 128, 5);
    const rec = g.recorder();
    const y = rec.read(await rope(rec, g.upload(x, [...sh]), { pos0, theta }));
    await rec.submit();
    console.log('M rope', pos0, theta, compareClose(await y, refRope(x, sh, pos0, theta), 0).maxAbs.toExponential(2));
  }
  // timings (llvmpipe, best of 3, 5 calls per submit)
  const time = async (label: string, f: (r: ReturnType<typeof g.recorder>) => Promise<unknown>) => {
    let best = Infinity;
    for (let rep = 0; rep < 3; rep++) { const rec = g.recorder(); for (let i = 0; i < 5; i++) await f(rec); const t0 = performance.now(); await rec.submit(); best = Math.min(best, (performance.now() - t0) / 5); }
    console.log('T', label, best.toFixed(3), 'ms');
  };
  const v = 151936;
  const big = g.upload(randomF32(32 * v, 6), [32, v]);
  const one = g.upload(randomF32(v, 7), [1, v]);
  const hid = g.upload(randomF32(700 * 1024, 8), [700, 1024]); const wv = g.upload(randomF32(1024, 9), [1024]);
  const q = g.upload(randomF32(700 * 14 * 64, 10), [1, 700, 14, 64]);
  await time('argmax [1,151936]', (r) => argmax(r, one));
  await time('argmax [32,151936]', (r) => argmax(r, big));
  await time('crossEntropy 32 rows of [32,151936]', (r) => crossEntropy(r, big, Int32Array.from({ length: 32 }, (_, i) => i), Int32Array.from({ length: 32 }, (_, i) => i * 7)));
  await time('rmsnorm [700,1024]', (r) => rmsnorm(r, hid, wv, 1e-6));
  await time('layernorm [700,1024]', (r) => layernorm(r, hid, wv, wv, 1e-5));
  await time('rope [1,700,14,64]', (r) => rope(r, q, { pos0: 0, theta: 1e6 }));
});
