// Attention benchmark: causal prefill at S = 128 and 1024, decode (Tn = 1) at S = 1024, for a
// Qwen2-0.5B-like GQA layout (Hq 14, Hkv 2, D 64) and an MHA layout (Hq = Hkv = 16, D 64), plus
// the cost of the tap and patch variants relative to plain (interleaved, median of repeats).
import type { Gpu } from '../gpu.js';
import { attention, type AttentionArgs } from '../ops/attention.js';
import type { Tensor } from '../tensor.js';
import { randomF32 } from '../testing.js';

type Row = Record<string, string | number>;

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

/** Milliseconds per call: `reps` dispatches in one submit (amortises the submit and readback wait). */
async function timeOnce(gpu: Gpu, args: AttentionArgs, reps: number): Promise<number> {
  const rec = gpu.recorder('bench-attention');
  for (let i = 0; i < reps; i++) await attention(rec, args);
  const t0 = performance.now();
  await rec.submit();
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

export async function benchAttention(gpu: Gpu): Promise<Row[]> {
  const rows: Row[] = [];
  const shapes: Shape[] = [];
  for (const [layout, Hq, Hkv] of [['Hq14/Hkv2', 14, 2], ['Hq16/Hkv16', 16, 16]] as const) {
    shapes.push({ name: `prefill S=128 ${layout}`, Tn: 128, S: 128, Hq, Hkv, D: 64 });
    shapes.push({ name: `prefill S=1024 ${layout}`, Tn: 1024, S: 1024, Hq, Hkv, D: 64 });
    shapes.push({ name: `decode S=1024 ${layout}`, Tn: 1, S: 1024, Hq, Hkv, D: 64 });
  }
  const L = 24;
  for (const s of shapes) {
    const { args, owned } = tensors(gpu, s);
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
    const repeats = big ? 5 : 9;
    for (const v of Object.values(variants)) await timeOnce(gpu, v, 1); // compile + warm up
    const times: Record<string, number[]> = { plain: [], tap: [], patch: [] };
    for (let r = 0; r < repeats; r++) {
      for (const [k, v] of Object.entries(variants)) times[k]!.push(await timeOnce(gpu, v, reps));
    }
    const ms = median(times.plain!);
    rows.push({
      case: s.name,
      D: s.D,
      ms: +ms.toFixed(3),
      'GFLOP/s': +(flops(s) / ms / 1e6).toFixed(2),
      'tap/plain': +(median(times.tap!) / ms).toFixed(3),
      'patch/plain': +(median(times.patch!) / ms).toFixed(3),
    });
    for (const t of [...owned, tapBuf, values, mask]) t.release();
  }
  return rows;
}
