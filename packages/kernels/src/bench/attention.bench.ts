// Attention benchmark: causal prefill at S = 128 and 1024, decode (Tn = 1) at S = 1024, for a
// Qwen2-0.5B-like GQA layout (Hq 14, Hkv 2, D 64) and an MHA layout (Hq = Hkv = 16, D 64), plus
// the cost of the tap and patch variants relative to plain (interleaved, median of repeats).
// Every shape runs with both kernel variants (register, flash: ops/attention/tuning.ts). Large
// rows -- flash prefill at S = 1024 and both variants at S = 4096 -- run only on a GPU adapter or
// with --large / MTV_BENCH_LARGE=1 (the matmul bench's switch): on llvmpipe every barrier is a
// coroutine switch, and those rows would take many minutes.
import type { Gpu } from '../gpu.js';
import { attention, type AttentionArgs } from '../ops/attention.js';
import type { AttentionVariant } from '../ops/attention/tuning.js';
import type { Tensor } from '../tensor.js';
import { randomF32 } from '../testing.js';

type Row = Record<string, string | number>;

import { fmtStats, pairRatio, stats } from './measure.js';

/** Milliseconds per call: `reps` dispatches in one submit (amortises the submit and readback wait). */
async function timeOnce(gpu: Gpu, args: AttentionArgs, reps: number): Promise<number> {
  const rec = gpu.recorder('bench-attention');
  for (let i = 0; i < reps; i++) await attention(rec, args);
  const t0 = performance.now();
  await rec.submit();
  await gpu.device.queue.onSubmittedWorkDone(); // submit() without reads need not wait for the GPU (Vulkan)
  return (performance.now() - t0) / reps;
}

interface Shape {
  name: string;
  Tn: number;
  S: number;
  Hq: number;
  Hkv: number;
  D: number;
}

function flops(s: Shape): number {
  // every (query, key) pair costs a D-long dot product and a D-long axpy: 4 D flops
  let pairs = 0;
  for (let t = 0; t < s.Tn; t++) pairs += s.S - s.Tn + t + 1;
  return pairs * s.Hq * 4 * s.D;
}

function tensors(gpu: Gpu, s: Shape): { args: AttentionArgs; owned: Tensor[] } {
  const q = gpu.upload(randomF32(s.Tn * s.Hq * s.D, 1, -2, 2), [1, s.Tn, s.Hq, s.D]);
  const kSuf = gpu.upload(randomF32(s.S * s.Hkv * s.D, 2, -2, 2), [1, s.S, s.Hkv, s.D]);
  const vSuf = gpu.upload(randomF32(s.S * s.Hkv * s.D, 3), [1, s.S, s.Hkv, s.D]);
  const out = gpu.empty([1, s.Tn, s.Hq, s.D]);
  return { args: { q, kSuf, vSuf, S: s.S, causal: true, out }, owned: [q, kSuf, vSuf, out] };
}

/** Whether a (shape, variant) row runs here: large rows need a GPU adapter or an explicit request. */
function runsHere(gpu: Gpu, s: Shape, variant: AttentionVariant, large: boolean): boolean {
  if (!gpu.report.cpuAdapter || process.argv.includes('--large') || process.env.MTV_BENCH_LARGE === '1') return true;
  if (s.S > 1024) return false;
  return variant === 'register' || !large;
}

export async function benchAttention(gpu: Gpu, opts: { quick?: boolean } = {}): Promise<Row[]> {
  const rows: Row[] = [];
  const shapes: Array<Shape & { large: boolean }> = [];
  const [small, large, huge] = opts.quick ? [16, 64, 128] : [128, 1024, 4096];
  for (const [layout, Hq, Hkv] of [['Hq14/Hkv2', 14, 2], ['Hq16/Hkv16', 16, 16]] as const) {
    shapes.push({ name: `prefill S=${small} ${layout}`, Tn: small, S: small, Hq, Hkv, D: 64, large: false });
    shapes.push({ name: `prefill S=${large} ${layout}`, Tn: large, S: large, Hq, Hkv, D: 64, large: true });
    shapes.push({ name: `decode S=${large} ${layout}`, Tn: 1, S: large, Hq, Hkv, D: 64, large: false });
    if (!opts.quick) shapes.push({ name: `prefill S=${huge} ${layout}`, Tn: huge, S: huge, Hq, Hkv, D: 64, large: true });
  }
  const skipped: string[] = [];
  const L = 24;
  for (const s of shapes) for (const variant of ['register', 'flash'] as const) {
    if (!runsHere(gpu, s, variant, s.large)) {
      skipped.push(`${s.name} ${variant}`);
      continue;
    }
    const { args: plainArgs, owned } = tensors(gpu, s);
    const args: AttentionArgs = { ...plainArgs, variant };
    const tapBuf = gpu.zeros([1, 1, L, s.Hq, s.D]);
    const values = gpu.upload(randomF32(L * s.Hq * s.D, 4), [L, s.Hq, s.D]);
    // mask all zero: the worst case for patch overhead (a patched head skips its attention entirely)
    const mask = gpu.zeros([1, L, s.Hq], 'u32');
    const variants: Record<'plain' | 'tap' | 'patch', AttentionArgs> = {
      plain: args,
      tap: { ...args, tap: { buffer: tapBuf, layer: 3 } },
      patch: { ...args, patch: { values, mask, layer: 3 } },
    };
    const big = flops(s) > 5e8;
    const reps = big ? 1 : s.Tn === 1 ? 20 : 5;
    const repeats = opts.quick ? 3 : big ? 5 : 9;
    // Warm-up of every variant (compile + first touch), its first use timed: the JIT cost per variant.
    const first: Record<string, number> = {};
    for (const [k, v] of Object.entries(variants)) {
      const t0 = performance.now();
      await timeOnce(gpu, v, 1);
      first[k] = performance.now() - t0;
    }
    const times: Record<string, number[]> = { plain: [], tap: [], patch: [] };
    for (let r = 0; r < repeats; r++) {
      for (const [k, v] of Object.entries(variants)) times[k]!.push(await timeOnce(gpu, v, reps));
    }
    // Variants are interleaved per repeat (plain, tap, patch, plain, ...): ratios pair by pair.
    const plain = stats(times.plain!);
    rows.push({
      case: s.name,
      variant,
      D: s.D,
      'first use ms (plain/tap/patch)': `${Math.round(first.plain!)}/${Math.round(first.tap!)}/${Math.round(first.patch!)}`,
      'ms [min–max]': fmtStats(plain, 3),
      'GFLOP/s': +(flops(s) / plain.median / 1e6).toFixed(2),
      'tap/plain [min–max]': fmtStats(pairRatio(plain, stats(times.tap!)), 3),
      'patch/plain [min–max]': fmtStats(pairRatio(plain, stats(times.patch!)), 3),
    });
    for (const t of [...owned, tapBuf, values, mask]) t.release();
  }
  if (skipped.length > 0) console.log(`attention: skipped on this CPU adapter (--large or MTV_BENCH_LARGE=1 runs them): ${skipped.join('; ')}`);
  return rows;
}
