// matmul GFLOP/s for both variants at the shapes the models run (measured, never asserted).
import type { Gpu } from '../gpu.js';
import { matmul, type MatmulVariant } from '../ops/matmul.js';
import type { DType } from '../tensor.js';
import { randomF32 } from '../testing.js';
import { timeIt, type Cell } from './table.js';

export interface Row {
  name: string;
  variant: MatmulVariant;
  wDtype: DType;
  m: number;
  n: number;
  k: number;
  /** W chunks (more than one when W is over the binding limit). */
  chunks: number;
  ms: number;
  gflops: number;
}

export const ROW_HEADER = ['shape (MxNxK)', 'what', 'variant', 'W', 'chunks', 'ms', 'GFLOP/s'];
export const rowCells = (r: Row): Cell[] => [`${r.m}x${r.n}x${r.k}`, r.name, r.variant, r.wDtype, r.chunks, r.ms, r.gflops];

interface Shape {
  name: string;
  m: number;
  n: number;
  k: number;
  dtypes: ('f32' | 'f16')[];
  /** Also time the tiled variant on CPU adapters (it runs at ~1 GFLOP/s there; barriers are slow). */
  tiledOnCpu: boolean;
}

const SHAPES: Shape[] = [
  { name: 'square', m: 1024, n: 1024, k: 1024, dtypes: ['f32'], tiledOnCpu: true },
  { name: 'prefill q/o proj', m: 4096, n: 896, k: 896, dtypes: ['f32'], tiledOnCpu: false },
  { name: 'MLP up (32 rows)', m: 32, n: 4864, k: 896, dtypes: ['f32'], tiledOnCpu: true },
  { name: 'LM head, 1 token', m: 1, n: 151936, k: 896, dtypes: ['f32', 'f16'], tiledOnCpu: false },
];

/** Aim each submit at roughly this much work so short kernels are not dominated by submit cost. */
const FLOP_PER_SUBMIT = 4e9;

export async function benchMatmul(gpu: Gpu, opts: { variants?: MatmulVariant[]; log?: (r: Row) => void } = {}): Promise<Row[]> {
  const variants = opts.variants ?? (['register', 'tiled'] as MatmulVariant[]);
  const rows: Row[] = [];
  for (const s of SHAPES) {
    const x = gpu.upload(randomF32(s.m * s.k, 1), [s.m, s.k]);
    const flop = 2 * s.m * s.n * s.k;
    for (const dt of s.dtypes) {
      const w = gpu.upload(randomF32(s.n * s.k, 2, -0.05, 0.05), [s.n, s.k], dt);
      const chunks = w.byteLength > gpu.maxBinding ? w.rowChunks(gpu.maxBinding).length : 1;
      const y = gpu.empty([s.m, s.n]);
      for (const variant of variants) {
        if (variant === 'tiled' && gpu.report.cpuAdapter && !s.tiledOnCpu) continue;
        const perSubmit = Math.max(1, Math.min(20, Math.round(FLOP_PER_SUBMIT / flop)));
        const ms = await timeIt(gpu, async (rec) => void (await matmul(rec, x, w, { variant, out: y })), { warmup: 1, iters: 3, perSubmit });
        const row: Row = { name: s.name, variant, wDtype: dt, m: s.m, n: s.n, k: s.k, chunks, ms, gflops: flop / ms / 1e6 };
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
