import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { attention, kvAppend, randomF32 } from '../src/index.js';
import { refAttention, refKvAppend } from '../src/reference/index.js';
import { expectClose, useGpu } from './setup.js';

const gpu = useGpu();

// kv_append is a copy: results must be bit-exact (tolerance 0).
describe('kv_append', () => {
  it('writes rows [at, at+Tn) of every batch row and nothing else (property)', async () => {
    const g = await gpu();
    const shape = fc.record({
      B: fc.integer({ min: 1, max: 4 }),
      Tn: fc.integer({ min: 1, max: 5 }),
      Hkv: fc.integer({ min: 1, max: 3 }),
      D: fc.integer({ min: 1, max: 13 }),
      room: fc.integer({ min: 0, max: 6 }),
      atFrac: fc.double({ min: 0, max: 1, noNaN: true }),
      seed: fc.integer({ min: 0, max: 1e6 }),
    });
    await fc.assert(
      fc.asyncProperty(shape, async ({ B, Tn, Hkv, D, room, atFrac, seed }) => {
        const Smax = Tn + room;
        const at = Math.floor(atFrac * room);
        const row = Hkv * D;
        const src = randomF32(B * Tn * row, seed);
        const cache = randomF32(B * Smax * row, seed + 1, 5, 6);
        const rec = g.recorder();
        const c = g.upload(cache, [B, Smax, Hkv, D]);
        const res = await kvAppend(rec, g.upload(src, [B, Tn, Hkv, D]), c, at);
        expect(res).toBe(c);
        const out = rec.read(c);
        await rec.submit();
        expectClose(await out, refKvAppend(src, cache, B, Tn, Smax, row, at), 0);
      }),
      { numRuns: 10 },
    );
  });

  it('decode loop: appending token by token then attending equals one causal prefill', async () => {
    const g = await gpu();
    const B = 2, T = 6, Hq = 4, Hkv = 2, D = 8, Smax = 8;
    const q = randomF32(B * T * Hq * D, 1, -2, 2);
    const k = randomF32(B * T * Hkv * D, 2, -2, 2);
    const v = randomF32(B * T * Hkv * D, 3);
    const kc = g.zeros([B, Smax, Hkv, D]);
    const vc = g.zeros([B, Smax, Hkv, D]);
    const rec = g.recorder();
    const outs: Promise<ArrayLike<number>>[] = [];
    const slice = (a: Float32Array, t: number, w: number): Float32Array => {
      const r = new Float32Array(B * w);
      for (let b = 0; b < B; b++) r.set(a.subarray((b * T + t) * w, (b * T + t + 1) * w), b * w);
      return r;
    };
    for (let t = 0; t < T; t++) {
      await kvAppend(rec, g.upload(slice(k, t, Hkv * D), [B, 1, Hkv, D]), kc, t);
      await kvAppend(rec, g.upload(slice(v, t, Hkv * D), [B, 1, Hkv, D]), vc, t);
      outs.push(rec.read(await attention(rec, { q: g.upload(slice(q, t, Hq * D), [B, 1, Hq, D]), kSuf: kc, vSuf: vc, S: t + 1, causal: true })));
    }
    await rec.submit();
    const ref = refAttention({ q, kSuf: k, vSuf: v, B, Tn: T, Hq, Hkv, D, Smax: T, causal: true }).out;
    for (let t = 0; t < T; t++) {
      const got = await outs[t]!;
      for (let b = 0; b < B; b++) {
        const w = Hq * D;
        expectClose(Array.from(got).slice(b * w, (b + 1) * w), ref.slice((b * T + t) * w, (b * T + t + 1) * w), 2e-5);
      }
    }
  });

  it('guards', async () => {
    const g = await gpu();
    const rec = g.recorder();
    const src = g.zeros([2, 3, 2, 4]);
    await expect(kvAppend(rec, src, g.zeros([2, 5, 2, 4]), 3)).rejects.toThrow(/kv_append: appending 3 tokens at 3 overflows the cache \[2, 5, 2, 4\]/);
    await expect(kvAppend(rec, src, g.zeros([1, 5, 2, 4]), 0)).rejects.toThrow(/kv_append: src \[2, 3, 2, 4\] does not match cache \[1, 5, 2, 4\]/);
    await expect(kvAppend(rec, src, g.zeros([2, 5, 2, 4], 'u32'), 0)).rejects.toThrow(/kv_append: tensor \[2, 5, 2, 4\] has dtype u32/);
    await expect(kvAppend(rec, src, g.zeros([2, 5, 8]), 0)).rejects.toThrow(/must be \[B, Tn, Hkv, D\]/);
  });
});
