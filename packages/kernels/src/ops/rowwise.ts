// Shared plumbing for the row-reduction kernels (norms, softmax, argmax, cross-entropy):
// the two variants, the choice between them, and splitting tensors over the binding limit.
import { checkDtype, checkShape, checkThat } from '../check.js';
import { KernelError, fmtShape } from '../errors.js';
import type { Gpu } from '../gpu.js';
import { grid1d, type Recorder } from '../recorder.js';
import type { Tensor } from '../tensor.js';

/**
 * 'row': one invocation per row, a serial loop (no barriers: what llvmpipe runs best).
 * 'workgroup': one workgroup of PAR_WG invocations per row with a tree reduction in
 * workgroup memory (what a real GPU wants for long rows).
 */
export type RowVariant = 'row' | 'workgroup';

export interface RowOptions {
  /** Force a variant (tests run both); by default chosen from the adapter and the shape. */
  variant?: RowVariant;
}

/** Invocations per workgroup of the 'row' variant (one row each). */
export const ROW_WG = 64;
/** Invocations per workgroup of the 'workgroup' variant (one row per workgroup); a power of two. */
export const PAR_WG = 256;

/**
 * Mesa llvmpipe (gallivm) counts the loop iterations of each invocation, over all its loops
 * together, and silently leaves every loop once the count reaches 65535
 * (LP_MAX_TGSI_LOOP_ITERATIONS): a long serial loop just stops and its row is left half done.
 * Measured here: a 3-pass softmax row of 21600 values is right, one of 21800 is not.
 */
export const LLVMPIPE_LOOP_CAP = 65535;

/** Loop iterations one invocation runs for `passes` sweeps over a row of n values (blocked sums add 1/64). */
export function loopIterations(variant: RowVariant, n: number, passes: number): number {
  const perThread = variant === 'row' ? n : Math.ceil(n / PAR_WG);
  return Math.ceil(passes * perThread * (1 + 1 / 64)) + 2 * Math.log2(PAR_WG) + 8;
}

/**
 * llvmpipe: the workgroup variant pays off only when rows are few and long: at least this many
 * values per row for each row. Softmax, ms per call measured here, row vs workgroup variant:
 * [1, 4096] 0.18 vs 0.13; [4, 4096] 0.22 vs 0.33; [2, 20000] 1.24 vs 0.57; [8, 20000] 1.73
 * vs 1.62; [32, 1024] 0.30 vs 1.20; [700, 1024] 4.6 vs 22.7; [2048, 64] 0.9 vs 49.
 */
const CPU_ROW_PER_WG = 4096;

/**
 * The tuning table. On llvmpipe a workgroup runs on one core and each barrier splits the
 * shader, so the serial variant wins whenever there are enough rows to spread over the cores
 * and its loops fit the loop cap; a handful of long rows goes to the workgroup variant. Real
 * GPUs want a workgroup per row as soon as rows are not tiny. A forced variant that would
 * overrun llvmpipe's loop cap is refused rather than run wrong.
 */
export function chooseVariant(kernel: string, gpu: Gpu, rows: number, n: number, passes: number, forced?: RowVariant): RowVariant {
  const fits = (v: RowVariant): boolean => !gpu.report.cpuAdapter || loopIterations(v, n, passes) <= LLVMPIPE_LOOP_CAP;
  if (forced) {
    if (!fits(forced)) {
      throw new KernelError(kernel, `the '${forced}' variant would run ${loopIterations(forced, n, passes)} loop iterations per invocation for rows of ${n}; llvmpipe stops loops after ${LLVMPIPE_LOOP_CAP}`);
    }
    return forced;
  }
  let v: RowVariant;
  if (gpu.report.cpuAdapter) v = rows * CPU_ROW_PER_WG <= n ? 'workgroup' : 'row';
  else v = n >= 128 || rows < 256 ? 'workgroup' : 'row';
  if (!fits(v)) v = v === 'row' ? 'workgroup' : 'row';
  if (!fits(v)) throw new KernelError(kernel, `rows of ${n} values are too long for llvmpipe's loop cap (${LLVMPIPE_LOOP_CAP} iterations per invocation)`);
  return v;
}

/** Workgroup grid for `rows` rows in the given variant (2-D when over the per-dimension cap). */
export function rowGrid(variant: RowVariant, rows: number): [number, number] {
  return variant === 'row' ? grid1d(rows, ROW_WG) : grid1d(rows, 1);
}

export const entryPoint = (variant: RowVariant): string => (variant === 'row' ? 'main_row' : 'main_wg');
export const workgroupSize = (variant: RowVariant): number => (variant === 'row' ? ROW_WG : PAR_WG);

/** [rows, n] of a tensor viewed as rows of its last dimension; rejects empty rows. */
export function rowsOf(kernel: string, what: string, t: Tensor): [number, number] {
  if (t.rank < 1) throw new KernelError(kernel, `${what} ${fmtShape(t.shape)} has no last dimension`);
  const n = t.shape[t.rank - 1]!;
  if (n < 1) throw new KernelError(kernel, `${what} ${fmtShape(t.shape)} has an empty last dimension`);
  return [t.size / n, n];
}

export interface RowChunk {
  /** First row of the chunk in the whole tensor. */
  start: number;
  count: number;
  /** The chunk as a [count, n] view. */
  view: Tensor;
}

/**
 * A [rows, n] tensor as views each fitting `maxBytes` (one chunk when it already fits).
 * Two tensors with the same row size get the same row ranges.
 */
export function rowChunksOf(t: Tensor, rows: number, n: number, maxBytes: number): RowChunk[] {
  const flat = t.reshape([rows, n]);
  if (flat.byteLength <= maxBytes) return [{ start: 0, count: rows, view: flat }];
  let start = 0;
  return flat.rowChunks(maxBytes).map((view) => {
    const c = { start, count: view.shape[0]!, view };
    start += c.count;
    return c;
  });
}

/** Guards shared by layernorm and rmsnorm; returns [rows, h] and the output tensor. */
export function normSetup(rec: Recorder, kernel: string, x: Tensor, weights: readonly Tensor[], eps: number, out?: Tensor): [number, number, Tensor] {
  checkDtype(kernel, x, 'f32');
  const [rows, h] = rowsOf(kernel, 'input', x);
  for (const w of weights) {
    checkDtype(kernel, w, 'f32');
    checkShape(kernel, `weight for input ${fmtShape(x.shape)}`, w, [h]);
  }
  checkThat(kernel, Number.isFinite(eps) && eps >= 0, `eps must be a finite number >= 0, got ${eps}`);
  const y = out ?? rec.gpu.empty(x.shape, 'f32', kernel);
  checkThat(kernel, y.dtype === 'f32' && y.size === x.size && y.shape[y.rank - 1] === h, `output ${fmtShape(y.shape)} ${y.dtype} does not match input ${fmtShape(x.shape)}`);
  return [rows, h, y];
}

/** A quiet NaN's bits, passed as a uniform: WGSL forbids NaN in constant expressions. */
export const NAN_BITS = 0x7fc00000;
