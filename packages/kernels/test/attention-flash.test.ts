// The flash attention variant (wgsl/attention_flash*.wgsl) against the float64 reference and the
// register variant, forced with `variant: 'flash'` so it runs on every adapter (CPU ones default to
// 'register'). Shapes are small on purpose: barriers are coroutine switches on llvmpipe and this
// file also runs on SwiftShader (MTV_GPU_BACKEND=vulkan), where MTV_TEST_SHAPES=small turns the
// D = 80 and D = 64 cases into D = 24 and D = 32 (shorter unrolled head_dim loops to compile).
import { afterEach, describe, expect, it, vi } from 'vitest';
import { attention, randomF32, type Gpu, type Tensor } from '../src/index.js';
import { effectiveVariant } from '../src/ops/attention/flash.js';
import { chooseAttentionVariant, defaultAttentionVariant, envAttentionVariant, flashPlan, flashSplits } from '../src/ops/attention/tuning.js';
import type { AdapterReport } from '../src/device.js';
import { refAttention } from '../src/reference/index.js';
import { sizedForTests } from '../src/testing.js';
import { expectPatched, hostData, refArgs, upload, type Case, type Host } from './attention-case.js';
import { expectClose, useGpu } from './setup.js';

const gpu = useGpu();
const D80 = sizedForTests(80, 24);
const D64 = sizedForTests(64, 32);

// Tolerance, as in attention.test.ts: outputs are convex combinations of values in [-1, 1]; f32
// dot products over D <= 80 and the online softmax (per tile, and the split-K merge's exp of f32
// differences) stay within 2e-5 absolute of float64.
const ATOL = 2e-5;
// flash vs register: two f32 summation orders of the same sums, each within ATOL of float64.
const ATOL_PAIR = 2 * ATOL;

/**
 * Flash (at each split count) and, with `withRegister`, register outputs of one case, one submit.
 * The register variant only where its shader is cheap or shared with attention.test.ts: an unrolled
 * 8-item shader at D >= 16 is a JIT of 30 s and more on a loaded llvmpipe.
 */
async function runBoth(g: Gpu, c: Case, splits: readonly (number | undefined)[], withRegister = false): Promise<{ h: Host; flash: Float32Array[]; register: Float32Array | null }> {
  const h = hostData(c);
  const d = upload(g, c, h);
  const rec = g.recorder();
  const base = { ...d, S: c.S, causal: c.causal };
  const flash: Promise<ArrayLike<number>>[] = [];
  for (const s of splits) flash.push(rec.read(await attention(rec, { ...base, variant: 'flash', ...(s !== undefined ? { splitK: s } : {}) })));
  const register = withRegister ? rec.read(await attention(rec, { ...base, variant: 'register' })) : null;
  await rec.submit();
  return { h, flash: (await Promise.all(flash)) as Float32Array[], register: register ? ((await register) as Float32Array) : null };
}

describe('flash attention vs float64 reference', () => {
  const fixed: Array<[string, Case, boolean?]> = [
    ['causal prefill, suffix only, MHA, D=8, vs register too', { B: 1, Tn: 5, Hq: 2, Hkv: 2, D: 8, P: 0, S: 5, Smax: 5, causal: true, seed: 1 }, true],
    [`bidirectional, B=3, D=${D80} (16-key tiles at D=80)`, { B: 3, Tn: 7, Hq: 2, Hkv: 2, D: D80, P: 0, S: 7, Smax: 7, causal: false, seed: 2 }],
    [`GQA 4, prefix + suffix, odd Tn and S, D=${D80}`, { B: 2, Tn: 3, Hq: 8, Hkv: 2, D: D80, P: 9, S: 11, Smax: 14, causal: true, seed: 4 }],
    [`prefix only (suffix = the one new token), GQA 2, D=${D64}, tiles straddle`, { B: 2, Tn: 1, Hq: 4, Hkv: 2, D: D64, P: 45, S: 1, Smax: 1, causal: true, seed: 5 }],
    ['prefix + bidirectional suffix, GQA 2, D=16', { B: 2, Tn: 2, Hq: 4, Hkv: 2, D: 16, P: 5, S: 3, Smax: 3, causal: false, seed: 6 }],
    ['bidirectional with fewer keys than queries, GQA 2', { B: 1, Tn: 9, Hq: 4, Hkv: 2, D: 16, P: 0, S: 5, Smax: 6, causal: false, seed: 7 }],
    ['two query blocks per (row, kv head) (66 items), causal, GQA 2', { B: 1, Tn: 33, Hq: 2, Hkv: 1, D: 16, P: 3, S: 40, Smax: 41, causal: true, seed: 8 }],
    [`several key tiles, causal, D=${D64}`, { B: 1, Tn: 3, Hq: 2, Hkv: 1, D: D64, P: 37, S: 100, Smax: 101, causal: true, seed: 9 }],
  ];
  for (const [name, c, withRegister] of fixed) {
    it(name, async () => {
      const { h, flash, register } = await runBoth(await gpu(), c, [undefined], withRegister ?? false);
      const ref = refAttention(refArgs(c, h)).out;
      expectClose(flash[0]!, ref, ATOL);
      if (register) expectClose(flash[0]!, register, ATOL_PAIR);
    });
  }

  it('decode split-K: 1, 2, 3 (= key tiles), 5 and 64 splits (more than tiles) agree with the reference', async () => {
    // 70 keys in 32-key tiles (D = 16): 3 tiles; splits past the third get no keys.
    const c: Case = { B: 2, Tn: 1, Hq: 4, Hkv: 1, D: 16, P: 40, S: 30, Smax: 32, causal: true, seed: 11 };
    const splits = [1, 2, 3, 5, 64, undefined];
    const { h, flash, register } = await runBoth(await gpu(), c, splits, true);
    const ref = refAttention(refArgs(c, h)).out;
    flash.forEach((f, i) => {
      expectClose(f, ref, ATOL);
      expectClose(f, register!, ATOL_PAIR);
      if (i > 0) expectClose(f, flash[0]!, ATOL_PAIR); // split or not, the same attention
    });
  });

  it('split-K on a causal prefill: a split wholly masked for early queries drops out', async () => {
    // 36 keys in 32-key tiles (D = 8): split 2 holds keys 32..35, which queries 0..3 (they see
    // keys below 29..32) do not see at all; with 3 splits the third split is empty.
    const c: Case = { B: 1, Tn: 8, Hq: 2, Hkv: 1, D: 8, P: 6, S: 30, Smax: 30, causal: true, seed: 12 };
    const { h, flash } = await runBoth(await gpu(), c, [2, 3]);
    const ref = refAttention(refArgs(c, h)).out;
    for (const f of flash) expectClose(f, ref, ATOL);
  });
});

describe('flash attention tap and patch', () => {
  const L = 3;
  const layer = 1;
  const SENTINEL = -777;
  // prefill (one pass) and decode (split-K: the epilogue runs in the combine pass)
  const cases: Array<[string, Case, number | undefined]> = [
    ['prefill', { B: 2, Tn: 5, Hq: 4, Hkv: 2, D: 8, P: 3, S: 7, Smax: 8, causal: true, seed: 21 }, undefined],
    ['decode split-K', { B: 2, Tn: 1, Hq: 4, Hkv: 2, D: 8, P: 30, S: 9, Smax: 9, causal: true, seed: 22 }, 3],
  ];
  for (const [name, c, splitK] of cases) {
    it(`${name}: tap copies the outputs at the positions, patch replaces the masked heads; plain equals the register variant`, async () => {
      const g = await gpu();
      const h = hostData(c);
      const d = upload(g, c, h);
      const positions = c.Tn > 1 ? [4, 1] : [0];
      const base = { ...d, S: c.S, causal: c.causal, variant: 'flash' as const, ...(splitK !== undefined ? { splitK } : {}) };
      const tapInit = new Float32Array(c.B * positions.length * L * c.Hq * c.D).fill(SENTINEL);
      const values = randomF32(L * c.Hq * c.D, 31, 5, 6); // far outside attention's output range
      const mask = Uint32Array.from({ length: c.B * L * c.Hq }, (_, i) => ((i * 7 + 3) % 3 === 0 ? 1 : 0));
      const rec = g.recorder();
      const plain = rec.read(await attention(rec, base));
      const register = rec.read(await attention(rec, { ...base, variant: 'register' }));
      const tapBuf = g.upload(tapInit, [c.B, positions.length, L, c.Hq, c.D]);
      const tapOut = rec.read(await attention(rec, { ...base, tap: { buffer: tapBuf, positions, layer, layers: L } }));
      const tapRead = rec.read(tapBuf);
      const tapBuf2 = g.upload(tapInit, [c.B, positions.length, L, c.Hq, c.D]);
      await attention(rec, { ...base, tap: { buffer: tapBuf2, positions: g.upload(positions, [positions.length], 'u32'), layer } });
      const tapRead2 = rec.read(tapBuf2);
      const vT = g.upload(values, [L, c.Hq, c.D]);
      const mT = g.upload(mask, [c.B, L, c.Hq], 'u32');
      const patched = rec.read(await attention(rec, { ...base, patch: { values: vT, mask: mT, positions, layer, layers: L } }));
      const viaTensor = rec.read(await attention(rec, { ...base, patch: { values: vT, mask: mT, positions: g.upload(positions, [positions.length], 'u32'), layer } }));
      const zero = rec.read(await attention(rec, { ...base, patch: { values: vT, mask: g.zeros([c.B, L, c.Hq], 'u32'), positions, layer } }));
      await rec.submit();

      const p = await plain;
      expectClose(p, refAttention(refArgs(c, h)).out, ATOL);
      expectClose(p, await register, ATOL_PAIR);
      expect(Array.from(await tapOut)).toEqual(Array.from(p)); // bit-identical: same attend code
      const refTap = refAttention({ ...refArgs(c, h), tap: { buffer: tapInit, positions, layer, layers: L } }).tap!;
      for (const got of [await tapRead, await tapRead2]) {
        expectClose(got, refTap, ATOL);
        got.forEach((v, i) => {
          if (Math.floor(i / (c.Hq * c.D)) % L !== layer) expect(v).toBe(SENTINEL);
          else expect(v).not.toBe(SENTINEL);
        });
      }
      const refPatch = refAttention({ ...refArgs(c, h), patch: { values, mask, positions, layer, layers: L } }).out;
      const got = await patched;
      expectClose(got, refPatch, ATOL);
      expect(Array.from(await viaTensor)).toEqual(Array.from(got));
      expectPatched(c, got, p, { values, mask, positions, layer, layers: L });
      expect(Array.from(await zero)).toEqual(Array.from(p)); // mask all zero == plain
    });
  }
});

describe('attention variant selection', () => {
  afterEach(() => {
    vi.unstubAllEnvs();
    vi.restoreAllMocks();
  });

  it('CPU adapters default to register, GPUs to flash; the call option beats MTV_ATTENTION_VARIANT beats the default', () => {
    expect(defaultAttentionVariant({ cpuAdapter: true })).toBe('register');
    expect(defaultAttentionVariant({ cpuAdapter: false })).toBe('flash');
    vi.stubEnv('MTV_ATTENTION_VARIANT', '');
    expect(chooseAttentionVariant({ cpuAdapter: true })).toBe('register');
    vi.stubEnv('MTV_ATTENTION_VARIANT', 'flash');
    expect(chooseAttentionVariant({ cpuAdapter: true })).toBe('flash');
    expect(chooseAttentionVariant({ cpuAdapter: true }, 'register')).toBe('register');
    vi.stubEnv('MTV_ATTENTION_VARIANT', 'register');
    expect(chooseAttentionVariant({ cpuAdapter: false })).toBe('register');
    expect(() => envAttentionVariant({ MTV_ATTENTION_VARIANT: 'tiled' })).toThrow(/MTV_ATTENTION_VARIANT=tiled is not a variant; use one of register, flash/);
  });

  it('the flash tile fits the workgroup memory; a device short of it falls back with one warning', () => {
    const lim = { maxComputeWorkgroupStorageSize: 16384, maxComputeInvocationsPerWorkgroup: 256, maxComputeWorkgroupSizeX: 256 };
    expect(flashPlan(64, lim)).toEqual({ tk: 32, wg: 64 });
    expect(flashPlan(80, lim)).toEqual({ tk: 16, wg: 64 });
    expect(flashPlan(256, lim)).toEqual({ tk: 8, wg: 64 });
    expect(flashPlan(256, { ...lim, maxComputeWorkgroupStorageSize: 4096 })).toEqual({ reason: expect.stringMatching(/head_dim 256 needs 8192 bytes .* allows 4096/) });
    expect(flashPlan(16, { ...lim, maxComputeInvocationsPerWorkgroup: 32 })).toEqual({ reason: expect.stringMatching(/allows 32 invocations per workgroup; flash needs 64/) });
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    const small = { backend: 'vulkan', featureLevel: 'core', vendor: 'x', architecture: '', device: 'tiny', description: 'tiny GPU (test)', cpuAdapter: false, shaderF16: false, limits: { ...lim, maxComputeWorkgroupStorageSize: 4096 } } as unknown as AdapterReport;
    expect(effectiveVariant(small, 'flash', 256)).toEqual({ variant: 'register' });
    expect(effectiveVariant(small, 'flash', 256)).toEqual({ variant: 'register' });
    expect(effectiveVariant(small, 'flash', 64).variant).toBe('flash'); // 8 keys x 64 x 2 x 4 B fit in 4096
    expect(warn).toHaveBeenCalledTimes(1);
    expect(String(warn.mock.calls[0]![0])).toMatch(/flash variant cannot run on tiny GPU \(test\) \(vulkan, core\): head_dim 256 .*; using the register variant/);
  });

  it('split-K only for decode, at most one split per key tile', () => {
    expect(flashSplits(5, 4096, 32, 4)).toBe(1);
    expect(flashSplits(1, 4096, 32, 4)).toBe(32); // ~128 workgroups
    expect(flashSplits(1, 40, 32, 4)).toBe(2);
    expect(flashSplits(1, 10_000, 32, 1)).toBe(64);
  });

  it('on this adapter the default is its table entry; flash pipelines are named as such', async () => {
    const g = await gpu();
    const c: Case = { B: 1, Tn: 2, Hq: 2, Hkv: 1, D: 8, P: 0, S: 3, Smax: 3, causal: true, seed: 41 };
    const d = upload(g, c, hostData(c));
    const want = defaultAttentionVariant(g.report);
    const rec = g.recorder();
    const dflt = rec.read(await attention(rec, { ...d, S: c.S, causal: true }));
    const forced = rec.read(await attention(rec, { ...d, S: c.S, causal: true, variant: want }));
    await attention(rec, { ...d, S: c.S, causal: true, variant: 'flash' });
    await rec.submit();
    if (process.env.MTV_ATTENTION_VARIANT === undefined) expect(Array.from(await dflt)).toEqual(Array.from(await forced));
    expect(g.pipelineNames.some((n) => n.startsWith('attention:flash:plain'))).toBe(true);
    for (const t of Object.values(d) as Tensor[]) t.release();
  });
});
