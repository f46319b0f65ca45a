// matmul GFLOP/s for every variant at the shapes the models run (measured, never asserted).
// GPU adapters also get the 4096³ square (CPU adapters with --large / MTV_BENCH_LARGE=1, register
// only), the f16 load path next to the unpack path where shader-f16 is granted, and, with
// `--peak-gflops <n>` (the device's peak, for the GPU check script), each row's fraction of it.
import type { Gpu } from '../gpu.js';
import { GEMV_MAX_M, matmul, matmulPipelineName, planMatmul, registerTuning, type MatmulVariant } from '../ops/matmul.js';
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
  /** Median GFLOP/s over the given peak (`--peak-gflops`). */
  ofPeak?: number;
}

export const ROW_HEADER = ['shape (MxNxK)', 'what', 'variant', 'block', 'W', 'chunks', 'first use ms', 'ms [min–max]', 'GFLOP/s [min–max]', 'of peak'];
export const rowCells = (r: Row): Cell[] => [`${r.m}x${r.n}x${r.k}`, r.name, r.variant, r.pipeline, r.wDtype, r.chunks, Math.round(r.firstMs), fmtStats(r.msStats, 2), fmtStats(r.gflopsStats, 1), r.ofPeak === undefined ? '-' : `${(100 * r.ofPeak).toFixed(1)}%`];

/** `--peak-gflops <n>` or `--peak-gflops=<n>`: the device's peak GFLOP/s; a bad value is an error, not ignored. */
export function peakGflops(argv: readonly string[] = process.argv): number | undefined {
  const i = argv.findIndex((a) => a === '--peak-gflops' || a.startsWith('--peak-gflops='));
  if (i < 0) return undefined;
  const a = argv[i]!;
  const text = a.includes('=') ? a.slice(a.indexOf('=') + 1) : argv[i + 1];
  const v = Number(text);
  if (text === undefined || !Number.isFinite(v) || v <= 0) throw new Error(`--peak-gflops needs a positive number of GFLOP/s (got ${text ?? 'nothing'})`);
  return v;
}

/** The large shapes (4096³) on CPU adapters too: `--large` or MTV_BENCH_LARGE=1. */
export const isLarge = (argv: readonly string[] = process.argv): boolean => argv.includes('--large') || process.env.MTV_BENCH_LARGE === '1';

interface Shape {
  name: string;
  m: number;
  n: number;
  k: number;
  dtypes: ('f32' | 'f16')[];
  /** Also time the tiled variant on CPU adapters (it runs at ~1 GFLOP/s there; barriers are slow). */
  tiledOnCpu: boolean;
  /** Also time the gemv variant (M <= 4 only) on CPU adapters. */
  gemvOnCpu?: boolean;
  /** W dtypes timed on GPU adapters only (keeps the CPU run, and its JIT, as it was). */
  gpuDtypes?: ('f32' | 'f16')[];
}

/** --quick: small shapes (no 32x32 block, whose first JIT takes a minute), for the bench-commands test. */
const QUICK_SHAPES: Shape[] = [
  { name: 'square (quick)', m: 64, n: 64, k: 64, dtypes: ['f32'], tiledOnCpu: true },
  { name: 'GEMV (quick)', m: 1, n: 512, k: 64, dtypes: ['f32', 'f16'], tiledOnCpu: false, gemvOnCpu: true },
];

/** The shapes of a run: quick, the standard set, or the standard set plus 4096³ (`large`). */
export const MATMUL_SHAPES = (quick: boolean, large = isLarge()): readonly Shape[] => (quick ? QUICK_SHAPES : large ? [...SHAPES, ...LARGE_SHAPES] : SHAPES);

const SHAPES: Shape[] = [
  { name: 'square', m: 1024, n: 1024, k: 1024, dtypes: ['f32'], gpuDtypes: ['f16'], tiledOnCpu: true },
  { name: 'prefill q/o proj', m: 4096, n: 896, k: 896, dtypes: ['f32'], gpuDtypes: ['f16'], tiledOnCpu: false },
  { name: 'MLP up (32 rows)', m: 32, n: 4864, k: 896, dtypes: ['f32'], gpuDtypes: ['f16'], tiledOnCpu: true },
  { name: 'LM head, 1 token', m: 1, n: 151936, k: 896, dtypes: ['f32', 'f16'], tiledOnCpu: false },
];

/** GPU adapters always; CPU adapters with --large (register only: 4096³ at ~1 GFLOP/s tiled is minutes). */
const LARGE_SHAPES: Shape[] = [{ name: 'square (large)', m: 4096, n: 4096, k: 4096, dtypes: ['f32', 'f16'], tiledOnCpu: false }];

/** Aim each submit at roughly this much work so short kernels are not dominated by submit cost. */
const FLOP_PER_SUBMIT = 4e9;

/** Whether this bench times `variant` at shape `s` on this adapter. */
function runs(variant: MatmulVariant, s: Shape, cpu: boolean): boolean {
  if (variant === 'register') return true;
  if (variant === 'gemv') return s.m <= GEMV_MAX_M && (!cpu || (s.gemvOnCpu ?? false));
  return !cpu || s.tiledOnCpu;
}

export interface MatmulBenchOptions {
  variants?: MatmulVariant[];
  log?: (r: Row) => void;
  quick?: boolean;
  repeats?: number;
  /** Include 4096³; default: on GPU adapters, or --large. */
  large?: boolean;
  /** The device's peak GFLOP/s; default `--peak-gflops`. */
  peakGflops?: number;
}

export async function benchMatmul(gpu: Gpu, opts: MatmulBenchOptions = {}): Promise<Row[]> {
  const variants = opts.variants ?? (['register', 'tiled', 'gemv'] as MatmulVariant[]);
  const cpu = gpu.report.cpuAdapter;
  const peak = opts.peakGflops ?? peakGflops();
  const rows: Row[] = [];
  for (const s of MATMUL_SHAPES(opts.quick ?? false, opts.large ?? (isLarge() || !cpu))) {
    const x = gpu.upload(randomF32(s.m * s.k, 1), [s.m, s.k]);
    const flop = 2 * s.m * s.n * s.k;
    for (const dt of [...s.dtypes, ...(cpu ? [] : s.gpuDtypes ?? [])]) {
      const w = gpu.upload(randomF32(s.n * s.k, 2, -0.05, 0.05), [s.n, s.k], dt);
      const chunks = w.byteLength > gpu.maxBinding ? w.rowChunks(gpu.maxBinding).length : 1;
      const y = gpu.empty([s.m, s.n]);
      for (const variant of variants) {
        if (!runs(variant, s, cpu)) continue;
        // f16 W on a shader-f16 device: the f16 load path, then the unpack path for the ratio
        for (const f16 of dt === 'f16' && variant !== 'register' && gpu.report.shaderF16 ? [true, false] : [false]) {
          const plan = planMatmul(gpu.report, s.m, dt, { variant, f16 });
          const perSubmit = Math.max(1, Math.min(20, Math.round(FLOP_PER_SUBMIT / flop)));
          const t = await timeItStats(gpu, async (rec) => void (await matmul(rec, x, w, { variant, f16, out: y })), { warmup: 1, iters: opts.repeats ?? 5, perSubmit });
          const tune = registerTuning(s.m, s.n, s.k);
          const pipeline = variant === 'register' ? `${tune.tm}x${tune.tn}` : matmulPipelineName(plan, dt, s.m, s.n, s.k, gpu.limits.maxComputeInvocationsPerWorkgroup).replace(/^matmul_/, '');
          const gflopsStats = mapStats(t, (ms) => flop / ms / 1e6);
          const row: Row = { name: s.name, variant, wDtype: dt, m: s.m, n: s.n, k: s.k, chunks, ms: t.median, gflops: gflopsStats.median, msStats: t, gflopsStats, firstMs: t.firstMs, pipeline, ...(peak ? { ofPeak: gflopsStats.median / peak } : {}) };
          opts.log?.(row);
          rows.push(row);
        }
      }
      w.release();
      y.release();
    }
    x.release();
  }
  return rows;
}
