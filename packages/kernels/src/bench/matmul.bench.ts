// matmul GFLOP/s for both variants at the shapes the models run (measured, never asserted).
import type { Gpu } from '../gpu.js';
import { matmul, registerTuning, type MatmulVariant } from '../ops/matmul.js';
import type { DType } from '../tensor.js';
import { randomF32 } from '../testing.js';
import { fmtStats, mapStats, type Stats } from './measure.js';
import { timeItStats, type Cell } from './table.js';

export interface Row {
  name: string;
  variant: MatmulVariant;
  wDtype: DType;
  m: number;
  n: number;
  k: number;
  /** W chunks (more than one when W is over the binding limit). */
  chunks: number;
  /** Median ms per product. */
  ms: number;
  /** Median GFLOP/s. */
  gflops: number;
  msStats: Stats;
  gflopsStats: Stats;
  /** Wall ms of the first use: recording + pipeline compile (JIT on llvmpipe) + one run. */
  firstMs: number;
  /** Pipeline name (the variant key compiled). */
  pipeline: string;
}

export const ROW_HEADER = ['shape (MxNxK)', 'what', 'variant', 'block', 'W', 'chunks', 'first use ms', 'ms [min–max]', 'GFLOP/s [min–max]'];
export const rowCells = (r: Row): Cell[] => [`${r.m}x${r.n}x${r.k}`, r.name, r.variant, r.pipeline, r.wDtype, r.chunks, Math.round(r.firstMs), fmtStats(r.msStats, 2), fmtStats(r.gflopsStats, 1)];

interface Shape {
  name: string;
  m: number;
  n: number;
  k: number;
  dtypes: ('f32' | 'f16')[];
  /** Also time the tiled variant on CPU adapters (it runs at ~1 GFLOP/s there; barriers are slow). */
  tiledOnCpu: boolean;
}

/** --quick: small shapes (no 32x32 block, whose first JIT takes a minute), for the bench-commands test. */
const QUICK_SHAPES: Shape[] = [
  { name: 'square (quick)', m: 64, n: 64, k: 64, dtypes: ['f32'], tiledOnCpu: true },
  { name: 'GEMV (quick)', m: 1, n: 512, k: 64, dtypes: ['f32', 'f16'], tiledOnCpu: false },
];

export const MATMUL_SHAPES = (quick: boolean): readonly Shape[] => (quick ? QUICK_SHAPES : SHAPES);

const SHAPES: Shape[] = [
  { name: 'square', m: 1024, n: 1024, k: 1024, dtypes: ['f32'], tiledOnCpu: true },
  { name: 'prefill q/o proj', m: 4096, n: 896, k: 896, dtypes: ['f32'], tiledOnCpu: false },
  { name: 'MLP up (32 rows)', m: 32, n: 4864, k: 896, dtypes: ['f32'], tiledOnCpu: true },
  { name: 'LM head, 1 token', m: 1, n: 151936, k: 896, dtypes: ['f32', 'f16'], tiledOnCpu: false },
];

/** Aim each submit at roughly this much work so short kernels are not dominated by submit cost. */
const FLOP_PER_SUBMIT = 4e9;

export async function benchMatmul(gpu: Gpu, opts: { variants?: MatmulVariant[]; log?: (r: Row) => void; quick?: boolean; repeats?: number } = {}): Promise<Row[]> {
  const variants = opts.variants ?? (['register', 'tiled'] as MatmulVariant[]);
  const rows: Row[] = [];
  for (const s of MATMUL_SHAPES(opts.quick ?? false)) {
    const x = gpu.upload(randomF32(s.m * s.k, 1), [s.m, s.k]);
    const flop = 2 * s.m * s.n * s.k;
    for (const dt of s.dtypes) {
      const w = gpu.upload(randomF32(s.n * s.k, 2, -0.05, 0.05), [s.n, s.k], dt);
      const chunks = w.byteLength > gpu.maxBinding ? w.rowChunks(gpu.maxBinding).length : 1;
      const y = gpu.empty([s.m, s.n]);
      for (const variant of variants) {
        if (variant === 'tiled' && gpu.report.cpuAdapter && !s.tiledOnCpu) continue;
        const perSubmit = Math.max(1, Math.min(20, Math.round(FLOP_PER_SUBMIT / flop)));
        const t = await timeItStats(gpu, async (rec) => void (await matmul(rec, x, w, { variant, out: y })), { warmup: 1, iters: opts.repeats ?? 5, perSubmit });
        const tune = registerTuning(s.m, s.n, s.k);
        const pipeline = variant === 'register' ? `${tune.tm}x${tune.tn}` : 'tiled';
        const gflopsStats = mapStats(t, (ms) => flop / ms / 1e6);
        const row: Row = { name: s.name, variant, wDtype: dt, m: s.m, n: s.n, k: s.k, chunks, ms: t.median, gflops: gflopsStats.median, msStats: t, gflopsStats, firstMs: t.firstMs, pipeline };
        opts.log?.(row);
        rows.push(row);
      }
      w.release();
      y.release();
    }
    x.release();
  }
  return rows;
}
