// The GPU matmul variants ('tiled' 64x64 / 32x32 tiles, 'gemv' split-K) forced on whatever adapter
// runs the tests (llvmpipe, SwiftShader), against the float64 reference; the f16 and subgroup
// paths where the adapter grants the features. Shapes are small: barriers are slow on CPU adapters.
import { afterEach, describe, expect, it } from 'vitest';
import { logFallbacks, planMatmul, tiledSide, type MatmulOptions, type MatmulVariant } from '../src/index.js';
import { wgsl } from '../src/wgsl.js';
import { runMatmul as run, tol, type Case } from './matmul-case.js';
import { expectClose, useGpu } from './setup.js';

const gpu = useGpu();
const g0 = await gpu();

// Tolerance (as matmul.test.ts): inputs uniform in [-1, 1], f32 accumulation (FMA) of K products;
// K roundings of <= 2^-24 of partial sums O(sqrt K) give ~2^-24·K; 1e-5·sqrt(K) is >= 10x that
// for K <= 300 and far below one dropped or doubled product (~0.3). f16 W is compared against the
// reference on the f16-rounded W, and the f16 load path widens it exactly, so the bound is the same.
// (tol: matmul-case.ts)

// M, N, K off every tile edge (tile 64 or 32, BK 16, vec4 4), and some on them.
const TILED: Case[] = [
  { lead: [1], n: 3, k: 17, f16: false, bias: true },
  { lead: [3], n: 17, k: 65, f16: true, bias: false },
  { lead: [17], n: 65, k: 130, f16: false, bias: true },
  { lead: [65], n: 130, k: 3, f16: true, bias: true },
  { lead: [130], n: 65, k: 64, f16: false, bias: false },
  { lead: [2, 33], n: 70, k: 48, f16: true, bias: true },
  { lead: [64], n: 64, k: 1, f16: false, bias: true },
];

// GEMV: K over 4·64 (the stride loop runs twice), K % 4 tails, N not a multiple of 4.
const GEMV: Case[] = [
  { lead: [1], n: 1, k: 1, f16: false, bias: true },
  { lead: [1], n: 130, k: 300, f16: false, bias: true },
  { lead: [1], n: 65, k: 517, f16: true, bias: false },
  { lead: [3], n: 17, k: 64, f16: true, bias: true },
  { lead: [2, 2], n: 5, k: 259, f16: false, bias: false },
];

async function sweep(variant: MatmulVariant, cases: Case[], extra: MatmulOptions = {}): Promise<void> {
  for (const c of cases) {
    const { got, ref } = await run(g0, c, { variant, ...extra });
    expectClose(got, ref, tol(c.k));
  }
}

describe('GPU matmul variants forced on this adapter vs float64 reference', () => {
  it('tiled: odd M, N, K, f32 and f16 W, bias, batched leading dims', async () => {
    await sweep('tiled', TILED, { f16: false });
    const t = 4 * tiledSide(g0.limits.maxComputeInvocationsPerWorkgroup);
    expect(g0.pipelineNames.some((p) => p.startsWith(`matmul_tiled_${t}x${t}_f16`))).toBe(true);
    expect(g0.pipelineNames.some((p) => p.startsWith(`matmul_tiled_${t}x${t}_f32_v4`))).toBe(true);
  }, 120_000);

  it('gemv (workgroup reduction): M = 1 .. 4, K tails, N not a multiple of 4', async () => {
    await sweep('gemv', GEMV, { f16: false, subgroups: false });
    expect(g0.pipelineNames.some((p) => p.startsWith('matmul_gemv_wg_'))).toBe(true);
  }, 120_000);

  it('tiled and gemv: W split into row chunks gives the same Y as one binding', async () => {
    // f32 K=37: 148 B rows; 20000 B -> chunks of 128 rows -> 128, 128, 44 (as matmul.test.ts)
    for (const variant of ['tiled', 'gemv'] as const) {
      const c: Case = { lead: variant === 'gemv' ? [1] : [3, 5], n: 300, k: 37, f16: false, bias: true };
      const whole = await run(g0, c, { variant, f16: false, subgroups: false });
      const split = await run(g0, c, { variant, f16: false, subgroups: false, maxBindingBytes: 20000 });
      expect([whole.dispatches, split.dispatches]).toEqual([1, 3]);
      expect(Array.from(split.got)).toEqual(Array.from(whole.got));
      expectClose(split.got, split.ref, tol(c.k));
    }
  }, 120_000);

  it('MTV_MATMUL_VARIANT forces the variant when no option is given; a bad value names itself', async () => {
    const before = process.env.MTV_MATMUL_VARIANT;
    try {
      process.env.MTV_MATMUL_VARIANT = 'gemv';
      const c: Case = { lead: [2], n: 9, k: 11, f16: false, bias: false };
      const { got, ref } = await run(g0, c, {});
      expectClose(got, ref, tol(c.k));
      expect(planMatmul(g0.report, 2, 'f32').variant).toBe('gemv');
      process.env.MTV_MATMUL_VARIANT = 'tiles';
      await expect(run(g0, c, {})).rejects.toThrow(/MTV_MATMUL_VARIANT=tiles is not a variant; use one of register, tiled, gemv/);
    } finally {
      if (before === undefined) delete process.env.MTV_MATMUL_VARIANT;
      else process.env.MTV_MATMUL_VARIANT = before;
    }
  }, 60_000);
});

const report = g0.report;
const adapter = `${report.backend}/${report.featureLevel} ${report.description}`;

describe(`f16 load path (shader-f16 ${report.shaderF16 ? 'granted' : `NOT granted on ${adapter}: skipped`})`, () => {
  it.skipIf(!report.shaderF16)('tiled and gemv with W bound as array<f16>, same tolerance as f32 staging', async () => {
    await sweep('tiled', TILED.filter((c) => c.f16), { f16: true });
    await sweep('gemv', GEMV.filter((c) => c.f16), { f16: true, subgroups: false });
    expect(g0.pipelineNames.filter((p) => p.includes('_f16h')).length).toBeGreaterThanOrEqual(2);
  }, 120_000);

  // Without the feature the f16h sources cannot compile here at all ("extension 'f16' is not
  // allowed"); with f16 spelled f32 they must still type-check, which catches structural breakage
  // (not f16-specific rules) on CPU-only CI.
  it.runIf(!report.shaderF16)('compile-only proxy: the f16h tiled and gemv sources type-check with f16 read as f32', async () => {
    for (const io of ['matmul_io_f16h.wgsl', 'matmul_io_f16h_vec4.wgsl']) {
      for (const [body, constants] of [[wgsl('matmul_tiled.wgsl'), { TS: 8 }], [wgsl('matmul_gemv.wgsl') + wgsl('matmul_gemv_wg.wgsl'), {}]] as const) {
        const code = (wgsl(io) + body).replace(/\bf16\b/g, 'f32');
        await expect(g0.pipeline(`f16h_proxy_${io}`, code, constants)).resolves.toBeTruthy();
      }
    }
  }, 60_000);
});

describe(`subgroup path (subgroups ${report.subgroups ? `granted, sizes ${report.subgroupMinSize}..${report.subgroupMaxSize}` : `NOT granted on ${adapter}: skipped`})`, () => {
  it.skipIf(!report.subgroups)('gemv with subgroupAdd: M = 1 .. 4, K tails', async () => {
    await sweep('gemv', GEMV, { subgroups: true, f16: false });
    expect(g0.pipelineNames.some((p) => p.startsWith('matmul_gemv_sg_'))).toBe(true);
  }, 120_000);
});

describe('feature fallback', () => {
  const warn: string[] = [];
  afterEach(() => void (warn.length = 0));
  const bare = { cpuAdapter: false, shaderF16: false, subgroups: false, backend: 'vulkan' as const, description: 'test GPU' };

  it('a report without shader-f16 / subgroups picks the plain paths and says why, one line each', () => {
    const plan = planMatmul(bare, 1, 'f16', { f16: true, subgroups: true }, {});
    expect(plan).toMatchObject({ variant: 'gemv', f16: false, subgroups: false });
    logFallbacks(plan, (l) => warn.push(l));
    expect(warn).toEqual([
      'matmul: f16 loads asked for but not used (shader-f16 was not granted on the vulkan adapter "test GPU"); W is read through unpack2x16float',
      'matmul: subgroup reduction asked for but not used (subgroups was not granted on the vulkan adapter "test GPU"); gemv reduces through workgroup memory',
    ]);
  });

  it('with the features the GPU paths use them by default; nothing is logged when nothing was asked', () => {
    const full = { ...bare, shaderF16: true, subgroups: true };
    expect(planMatmul(full, 1, 'f16', {}, {})).toEqual({ variant: 'gemv', f16: true, subgroups: true, fallbacks: [] });
    expect(planMatmul(full, 64, 'f16', {}, {})).toEqual({ variant: 'tiled', f16: true, subgroups: false, fallbacks: [] });
    expect(planMatmul(full, 64, 'f32', {}, {})).toMatchObject({ f16: false, fallbacks: [] });
    expect(planMatmul(full, 1, 'f16', { f16: false, subgroups: false }, {})).toMatchObject({ f16: false, subgroups: false, fallbacks: [] });
    expect(planMatmul(bare, 1, 'f16', {}, {}).fallbacks).toEqual([]);
    expect(planMatmul(full, 64, 'f16', { subgroups: true }, {}).fallbacks).toEqual([`subgroup reduction asked for but not used (only 'gemv' has a subgroup path (this is 'tiled')); gemv reduces through workgroup memory`]);
  });

  it('CPU adapters keep the register variant whatever features they report', () => {
    if (report.cpuAdapter) for (const m of [1, 64]) expect(planMatmul(report, m, 'f16', {}, {})).toEqual({ variant: 'register', f16: false, subgroups: false, fallbacks: [] });
    const cpu = { ...bare, cpuAdapter: true, shaderF16: true, subgroups: true };
    for (const m of [1, 3, 64, 4096]) expect(planMatmul(cpu, m, 'f16', {}, {})).toEqual({ variant: 'register', f16: false, subgroups: false, fallbacks: [] });
    expect(planMatmul(cpu, 64, 'f16', {}, { MTV_MATMUL_VARIANT: 'tiled' }).variant).toBe('tiled');
    expect(planMatmul(cpu, 64, 'f16', { variant: 'register' }, { MTV_MATMUL_VARIANT: 'tiled' }).variant).toBe('register');
  });
});
