import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { KernelError, attention, randomF32, type Gpu } from '../src/index.js';
import { refAttention } from '../src/reference/index.js';
import { sizedForTests } from '../src/testing.js';
import { expectPatched, hostData, refArgs, upload, type Case, type Host } from './attention-case.js';
import { expectClose, useGpu } from './setup.js';

const gpu = useGpu();

// Tolerance: outputs are convex combinations of values in [-1, 1]; f32 dot products over D <= 72
// and the online softmax (exp of f32 differences) stay within 2e-5 absolute of float64.
const ATOL = 2e-5;

async function runPlain(g: Gpu, c: Case): Promise<void> {
  const h = hostData(c);
  const rec = g.recorder();
  const out = rec.read(await attention(rec, { ...upload(g, c, h), S: c.S, causal: c.causal }));
  await rec.submit();
  expectClose(await out, refAttention(refArgs(c, h)).out, ATOL);
}

describe('attention vs float64 reference', () => {
  const fixed: Array<[string, Case]> = [
    ['causal prefill, MHA, D=8', { B: 1, Tn: 5, Hq: 2, Hkv: 2, D: 8, P: 0, S: 5, Smax: 5, causal: true, seed: 1 }],
    // MTV_TEST_SHAPES=small (the Vulkan pass): smaller head dims, whose unrolled shaders SwiftShader compiles for tens of seconds
    [`bidirectional (vision), B=3, D=${sizedForTests(72, 24)}`, { B: 3, Tn: 7, Hq: 2, Hkv: 2, D: sizedForTests(72, 24), P: 0, S: 7, Smax: 7, causal: false, seed: 2 }],
    ['GQA Hq=4 Hkv=2, decode with cache S>Tn, D=12', { B: 1, Tn: 1, Hq: 4, Hkv: 2, D: 12, P: 0, S: 13, Smax: 16, causal: true, seed: 3 }],
    ['GQA Hq=6 Hkv=1, odd Tn and S, P>0', { B: 2, Tn: 3, Hq: 6, Hkv: 1, D: 8, P: 9, S: 11, Smax: 14, causal: true, seed: 4 }],
    ['prefix + bidirectional, B=2', { B: 2, Tn: 2, Hq: 4, Hkv: 2, D: 12, P: 5, S: 3, Smax: 3, causal: false, seed: 5 }],
    ['bidirectional with fewer keys than queries (masked patches), GQA', { B: 1, Tn: 9, Hq: 4, Hkv: 2, D: 8, P: 0, S: 5, Smax: 6, causal: false, seed: 7 }],
    [`long sequence S=300, D=${sizedForTests(64, 16)}`, { B: 1, Tn: 3, Hq: 2, Hkv: 1, D: sizedForTests(64, 16), P: 37, S: 300, Smax: 301, causal: true, seed: 6 }],
  ];
  for (const [name, c] of fixed) it(name, async () => runPlain(await gpu(), c));

  it('random shapes (property)', async () => {
    const g = await gpu();
    const shape = fc
      .record({
        B: fc.integer({ min: 1, max: 3 }),
        Tn: fc.integer({ min: 1, max: 6 }),
        Hkv: fc.integer({ min: 1, max: 2 }),
        group: fc.integer({ min: 1, max: 3 }),
        D4: fc.constantFrom(1, 2, 3), // D = 64 and 72 are fixed cases above (big unrolled shaders compile slowly)
        P: fc.integer({ min: 0, max: 9 }),
        extra: fc.integer({ min: 0, max: 9 }),
        pad: fc.integer({ min: 0, max: 3 }),
        causal: fc.boolean(),
        seed: fc.integer({ min: 0, max: 1e6 }),
      })
      .map((r): Case => ({ B: r.B, Tn: r.Tn, Hq: r.Hkv * r.group, Hkv: r.Hkv, D: r.D4 * 4, P: r.P, S: r.Tn + r.extra, Smax: r.Tn + r.extra + r.pad, causal: r.causal, seed: r.seed }));
    await fc.assert(fc.asyncProperty(shape, async (c) => runPlain(g, c)), { numRuns: 8 });
  });

  it('B>1 rows with different suffix contents each see only their own suffix', async () => {
    const g = await gpu();
    const c: Case = { B: 3, Tn: 2, Hq: 2, Hkv: 1, D: 8, P: 4, S: 5, Smax: 6, causal: true, seed: 7 };
    const h = hostData(c);
    const rec = g.recorder();
    const out = rec.read(await attention(rec, { ...upload(g, c, h), S: c.S, causal: true }));
    await rec.submit();
    const got = await out;
    const per = c.Tn * c.Hq * c.D;
    // each row equals a B=1 run of that row alone
    for (let b = 0; b < c.B; b++) {
      const row: Case = { ...c, B: 1 };
      const hb: Host = { ...h, q: h.q.slice(b * per, (b + 1) * per), kSuf: h.kSuf.slice(b * c.Smax * c.D, (b + 1) * c.Smax * c.D), vSuf: h.vSuf.slice(b * c.Smax * c.D, (b + 1) * c.Smax * c.D) };
      expectClose(got.slice(b * per, (b + 1) * per), refAttention(refArgs(row, hb)).out, ATOL);
    }
    // and the rows differ (the suffixes really are per row)
    expect(Math.abs(got[0]! - got[per]!)).toBeGreaterThan(1e-4);
  });

  it('prefix-shared batch == full concatenated sequence for the last token', async () => {
    const g = await gpu();
    // B rows share a prefix of P tokens; row b continues with one token. Versus: for each row, the
    // sequence prefix ++ [token b] as an ordinary single-sequence cache (B=1, P=0, Tn=1).
    const B = 3, P = 10, Hq = 4, Hkv = 2, D = 12;
    const kPre = randomF32(P * Hkv * D, 11, -2, 2);
    const vPre = randomF32(P * Hkv * D, 12);
    const kTok = randomF32(B * Hkv * D, 13, -2, 2);
    const vTok = randomF32(B * Hkv * D, 14);
    const q = randomF32(B * Hq * D, 15, -2, 2);
    const rec = g.recorder();
    const shared = rec.read(
      await attention(rec, {
        q: g.upload(q, [B, 1, Hq, D]),
        kPre: g.upload(kPre, [P, Hkv, D]),
        vPre: g.upload(vPre, [P, Hkv, D]),
        kSuf: g.upload(kTok, [B, 1, Hkv, D]),
        vSuf: g.upload(vTok, [B, 1, Hkv, D]),
        causal: true,
      }),
    );
    const full: Promise<ArrayLike<number>>[] = [];
    for (let b = 0; b < B; b++) {
      const cat = (pre: Float32Array, tok: Float32Array): Float32Array => {
        const r = new Float32Array((P + 1) * Hkv * D);
        r.set(pre);
        r.set(tok.subarray(b * Hkv * D, (b + 1) * Hkv * D), P * Hkv * D);
        return r;
      };
      const o = await attention(rec, {
        q: g.upload(q.slice(b * Hq * D, (b + 1) * Hq * D), [1, 1, Hq, D]),
        kSuf: g.upload(cat(kPre, kTok), [1, P + 1, Hkv, D]),
        vSuf: g.upload(cat(vPre, vTok), [1, P + 1, Hkv, D]),
        causal: true,
      });
      full.push(rec.read(o));
    }
    await rec.submit();
    const got = await shared;
    for (let b = 0; b < B; b++) expectClose(got.slice(b * Hq * D, (b + 1) * Hq * D), await full[b]!, 1e-6);
  });
});

describe('attention tap and patch', () => {
  const c: Case = { B: 2, Tn: 5, Hq: 4, Hkv: 2, D: 8, P: 3, S: 7, Smax: 8, causal: true, seed: 21 };
  const L = 3;
  const layer = 1;
  const SENTINEL = -777;

  it('tap writes exactly the requested slots; out equals plain', async () => {
    const g = await gpu();
    const h = hostData(c);
    const positions = [4, 1];
    const tapInit = new Float32Array(c.B * positions.length * L * c.Hq * c.D).fill(SENTINEL);
    const rec = g.recorder();
    const d = upload(g, c, h);
    const plain = rec.read(await attention(rec, { ...d, S: c.S, causal: true }));
    const tapBuf = g.upload(tapInit, [c.B, positions.length, L, c.Hq, c.D]);
    const tapOut = rec.read(await attention(rec, { ...d, S: c.S, causal: true, tap: { buffer: tapBuf, positions, layer, layers: L } }));
    const tapRead = rec.read(tapBuf);
    // the same positions as a u32 tensor, into a second buffer
    const tapBuf2 = g.upload(tapInit, [c.B, positions.length, L, c.Hq, c.D]);
    await attention(rec, { ...d, S: c.S, causal: true, tap: { buffer: tapBuf2, positions: g.upload(positions, [2], 'u32'), layer } });
    const tapRead2 = rec.read(tapBuf2);
    await rec.submit();
    const ref = refAttention({ ...refArgs(c, h), tap: { buffer: tapInit, positions, layer, layers: L } });
    expectClose(await plain, ref.out, ATOL);
    expect(Array.from(await tapOut)).toEqual(Array.from(await plain)); // bit-identical: same code path
    for (const got of [await tapRead, await tapRead2]) {
      expectClose(got, ref.tap!, ATOL);
      // untouched slots keep the sentinel; touched slots are the layer-1 slots only
      let touched = 0;
      got.forEach((v, i) => {
        const l = Math.floor(i / (c.Hq * c.D)) % L;
        if (l !== layer) expect(v).toBe(SENTINEL);
        else if (v !== SENTINEL) touched++;
      });
      expect(touched).toBe(c.B * positions.length * c.Hq * c.D);
    }
  });

  it('patch writes values where mask=1 at the positions, the computed o elsewhere', async () => {
    const g = await gpu();
    const h = hostData(c);
    const values = randomF32(L * c.Hq * c.D, 31, 5, 6); // far outside attention's output range
    const mask = Uint32Array.from({ length: c.B * L * c.Hq }, (_, i) => (i * 7 + 3) % 3 === 0 ? 1 : 0);
    const positions = [4, 2];
    const rec = g.recorder();
    const d = upload(g, c, h);
    const plain = rec.read(await attention(rec, { ...d, S: c.S, causal: true }));
    const vT = g.upload(values, [L, c.Hq, c.D]);
    const mT = g.upload(mask, [c.B, L, c.Hq], 'u32');
    const patched = rec.read(await attention(rec, { ...d, S: c.S, causal: true, patch: { values: vT, mask: mT, positions, layer, layers: L } }));
    const viaTensor = rec.read(await attention(rec, { ...d, S: c.S, causal: true, patch: { values: vT, mask: mT, positions: g.upload(positions, [2], 'u32'), layer } }));
    const zero = rec.read(await attention(rec, { ...d, S: c.S, causal: true, patch: { values: vT, mask: g.zeros([c.B, L, c.Hq], 'u32'), positions, layer } }));
    await rec.submit();
    const ref = refAttention({ ...refArgs(c, h), patch: { values, mask, positions, layer, layers: L } });
    const got = await patched;
    expectClose(got, ref.out, ATOL);
    expectClose(await viaTensor, ref.out, ATOL);
    const p = await plain;
    expectPatched(c, got, p, { values, mask, positions, layer, layers: L });
    expect(Array.from(await zero)).toEqual(Array.from(p)); // mask all zero == plain
  });

  it('default positions are the last token; out-of-range tensor positions match nothing', async () => {
    const g = await gpu();
    const h = hostData(c);
    const rec = g.recorder();
    const d = upload(g, c, h);
    const tapBuf = g.zeros([c.B, 1, 1, c.Hq, c.D]);
    await attention(rec, { ...d, S: c.S, causal: true, tap: { buffer: tapBuf, layer: 0 } });
    const tapRead = rec.read(tapBuf);
    const none = g.upload(new Float32Array(c.B * c.Hq * c.D).fill(SENTINEL), [c.B, 1, 1, c.Hq, c.D]);
    await attention(rec, { ...d, S: c.S, causal: true, tap: { buffer: none, positions: g.upload([c.Tn], [1], 'u32'), layer: 0 } });
    const noneRead = rec.read(none);
    await rec.submit();
    const ref = refAttention({ ...refArgs(c, h), tap: { buffer: new Float32Array(c.B * c.Hq * c.D), positions: [c.Tn - 1], layer: 0, layers: 1 } });
    expectClose(await tapRead, ref.tap!, ATOL);
    expect((await noneRead).every((v) => v === SENTINEL)).toBe(true);
  });

  it('guards name the kernel and the shapes', async () => {
    const g = await gpu();
    const h = hostData(c);
    const rec = g.recorder();
    const d = upload(g, c, h);
    const base = { ...d, S: c.S, causal: true };
    await expect(attention(rec, { ...base, S: c.Smax + 1 })).rejects.toThrow(/attention: S = 9 must be an integer with Tn 5 <= S <= Smax 8/);
    await expect(attention(rec, { ...base, S: 4 })).rejects.toThrow(KernelError);
    await expect(attention(rec, { ...base, q: g.upload(randomF32(c.B * c.Tn * 3 * 8, 1), [c.B, c.Tn, 3, 8]) })).rejects.toThrow(/query heads 3 .* not a multiple of kv heads 2/);
    await expect(attention(rec, { ...base, q: g.upload(randomF32(c.B * c.Tn * 4 * 6, 1), [c.B, c.Tn, 4, 6]) })).rejects.toThrow(/head_dim 6 .* multiple of 4/);
    await expect(attention(rec, { ...base, vSuf: g.zeros([c.B, c.Smax, c.Hkv, 4]) })).rejects.toThrow(/attention: vSuf has shape \[2, 8, 2, 4\]; expected \[2, 8, 2, 8\]/);
    await expect(attention(rec, { ...base, kPre: g.zeros([3, 1, 8]), vPre: g.zeros([3, 1, 8]) })).rejects.toThrow(/kPre has shape \[3, 1, 8\]; expected \[3, 2, 8\]/);
    await expect(attention(rec, { ...base, vPre: undefined })).rejects.toThrow(/both kPre and vPre/);
    await expect(attention(rec, { ...base, q: g.zeros([c.B, c.Tn, c.Hq, c.D], 'i32') })).rejects.toThrow(/dtype i32/);
    await expect(attention(rec, { ...base, out: g.zeros([c.B, c.Tn, c.Hq, 4]) })).rejects.toThrow(/out has shape/);
    const tapBuf = g.zeros([c.B, 1, L, c.Hq, c.D]);
    await expect(attention(rec, { ...base, tap: { buffer: tapBuf, positions: [5], layer } })).rejects.toThrow(/tap position 5 is not a query index in 0..4/);
    await expect(attention(rec, { ...base, tap: { buffer: tapBuf, positions: [4], layer: 3 } })).rejects.toThrow(/layer 3 is not in 0..2/);
    await expect(attention(rec, { ...base, tap: { buffer: tapBuf, positions: [4], layer, layers: 4 } })).rejects.toThrow(/tap layers = 4/);
    await expect(attention(rec, { ...base, tap: { buffer: tapBuf, positions: [1, 4], layer } })).rejects.toThrow(/tap buffer has shape \[2, 1, 3, 4, 8\]; expected \[2, 2, 3, 4, 8\]/);
    const values = g.zeros([L, c.Hq, c.D]);
    await expect(attention(rec, { ...base, patch: { values, mask: g.zeros([c.B, L, c.Hq], 'f32'), layer } })).rejects.toThrow(/attention: tensor \[2, 3, 4\] has dtype f32; expected u32/);
    await expect(attention(rec, { ...base, patch: { values, mask: g.zeros([1, L, c.Hq], 'u32'), layer } })).rejects.toThrow(/patch mask has shape \[1, 3, 4\]; expected \[2, 3, 4\]/);
    await expect(attention(rec, { ...base, patch: { values, mask: g.zeros([c.B, L, c.Hq], 'u32'), positions: g.upload([1], [1], 'i32'), layer } })).rejects.toThrow(/dtype i32; expected u32/);
    await expect(attention(rec, { ...base, patch: { values, mask: g.zeros([c.B, L, c.Hq], 'u32'), layer }, tap: { buffer: tapBuf, layer } })).rejects.toThrow(/tap and patch in one pass/);
  });
});
