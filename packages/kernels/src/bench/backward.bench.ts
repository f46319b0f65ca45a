// Backward-kernel benchmark (the kernels that train the demo model, packages/toy): gemm at two
// shapes, the training attention forward and backward, layernorm backward. The shared method: a
// first use timed apart (record + JIT + one run), then timed submits, median [min–max].
import type { Gpu } from '../gpu.js';
import { attentionBackward, attentionTrain } from '../ops/grad/attention.js';
import { gemm } from '../ops/grad/gemm.js';
import { layernormBackward } from '../ops/grad/norm.js';
import type { Recorder } from '../recorder.js';
import type { Tensor } from '../tensor.js';
import { randomF32 } from '../testing.js';
import { fmtStats, mapStats } from './measure.js';
import { timeItStats } from './table.js';

type Row = Record<string, string | number>;

export async function benchBackward(gpu: Gpu, opts: { quick?: boolean } = {}): Promise<Row[]> {
  const quick = opts.quick ?? false;
  const iters = quick ? 3 : 5;
  const owned: Tensor[] = [];
  const up = (n: number, shape: number[], seed: number): Tensor => {
    const t = gpu.upload(randomF32(n, seed, -1, 1), shape);
    owned.push(t);
    return t;
  };
  const rows: Row[] = [];
  const add = async (kernel: string, flop: number | null, record: (rec: Recorder) => Promise<void>): Promise<void> => {
    const s = await timeItStats(gpu, record, { iters });
    rows.push({
      'kernel, shape': kernel,
      'first use ms': Math.round(s.firstMs),
      'ms [min–max]': fmtStats(s, 2),
      'GFLOP/s': flop === null ? '' : fmtStats(mapStats(s, (ms) => flop / (ms * 1e6)), 2),
    });
  };
  try {
    const gemmShapes: Array<[number, number, number]> = quick ? [[128, 64, 64]] : [[1024, 1024, 1024], [1024, 128, 128]];
    for (const [M, K, N] of gemmShapes) {
      const a = up(M * K, [M, K], 1);
      const b = up(K * N, [K, N], 2);
      const out = gpu.empty([M, N], 'f32', 'bench gemm out');
      owned.push(out);
      await add(`gemm ${M}×${K}×${N}`, 2 * M * N * K, async (rec) => void (await gemm(rec, a, b, { out })));
    }
    const [B, T, H, D] = quick ? [1, 32, 2, 16] : [4, 256, 4, 32];
    const q = up(B * T * H * D, [B, T, H, D], 3);
    const k = up(B * T * H * D, [B, T, H, D], 4);
    const v = up(B * T * H * D, [B, T, H, D], 5);
    const dOut = up(B * T * H * D, [B, T, H, D], 6);
    const shape = `B${B} T${T} H${H} D${D} causal`;
    await add(`attentionTrain ${shape}`, null, async (rec) => {
      const r = await attentionTrain(rec, q, k, v, { causal: true });
      rec.releaseAfterSubmit(r.out);
      rec.releaseAfterSubmit(r.lse);
    });
    const fwd = gpu.recorder('bench attention forward');
    const f = await attentionTrain(fwd, q, k, v, { causal: true });
    await fwd.submit();
    owned.push(f.out, f.lse);
    await add(`attentionBackward ${shape}`, null, async (rec) => {
      const g = await attentionBackward(rec, q, k, v, f.out, dOut, f.lse, { causal: true });
      for (const t of [g.dq, g.dk, g.dv]) rec.releaseAfterSubmit(t);
    });
    const [R, Hn] = quick ? [64, 32] : [1024, 128];
    const x = up(R * Hn, [R, Hn], 7);
    const dy = up(R * Hn, [R, Hn], 8);
    const w = up(Hn, [Hn], 9);
    await add(`layernormBackward ${R}×${Hn}`, null, async (rec) => {
      const g = await layernormBackward(rec, x, dy, w, 1e-5);
      for (const t of [g.dx, g.dweight, g.dbias]) rec.releaseAfterSubmit(t);
    });
  } finally {
    for (const t of owned) t.release();
  }
  return rows;
}
