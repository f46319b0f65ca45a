// Column sums (wgsl/grad/colreduce.wgsl): bias gradients db[n] = sum_m dY[m, n], and the shared
// two-stage driver the norm backward uses for its weight gradients.
import { checkDtype, checkShape, checkThat } from '../../check.js';
import { fmtShape } from '../../errors.js';
import { grid1d, type Recorder } from '../../recorder.js';
import type { Tensor } from '../../tensor.js';
import { params, wgsl } from '../../wgsl.js';
import { dummyTensor } from './dummy.js';

const WG = 64;
/** Rows summed per invocation in the first stage: enough work per invocation, and enough chunks to spread over the cores. */
const ROWS_PER_CHUNK = 64;

export type ColReduceMode = 0 | 1 | 2;

/**
 * out[n] (+)= sum over rows of the MODE's term (see colreduce.wgsl). `b` and `stats` [rows, 4]
 * are read for modes 1 and 2. Rows are summed in chunks of 64 and the chunk partials summed in a
 * second pass, in a fixed order (deterministic).
 */
export async function colReduce(rec: Recorder, kernel: string, mode: ColReduceMode, a: Tensor, b: Tensor | null, stats: Tensor | null, rows: number, n: number, out: Tensor, accumulate: boolean): Promise<void> {
  const pipe = (m: number, acc: boolean) => rec.gpu.pipeline(kernel, wgsl('grad/colreduce.wgsl'), { MODE: m, ACC: acc ? 1 : 0, WG });
  if (n === 0) return;
  const chunks = Math.max(1, Math.ceil(rows / ROWS_PER_CHUNK));
  const bb = b ?? a;
  const ss = stats && rows > 0 ? stats : dummyTensor(rec.gpu); // unread in mode 0
  if (chunks === 1) {
    rec.dispatch(await pipe(mode, accumulate), params([rows, n, Math.max(rows, 1), 1]), [a, bb, ss, out], grid1d(n, WG));
    return;
  }
  const partial = rec.gpu.empty([chunks, n], 'f32', `${kernel} partials`);
  rec.dispatch(await pipe(mode, false), params([rows, n, ROWS_PER_CHUNK, chunks]), [a, bb, ss, partial], grid1d(n * chunks, WG));
  rec.dispatch(await pipe(0, accumulate), params([chunks, n, chunks, 1]), [partial, partial, dummyTensor(rec.gpu), out], grid1d(n, WG), 1);
  rec.releaseAfterSubmit(partial);
}

export interface ColSumOptions {
  /** out[n] += the column sums, in place; returned. */
  accumulate?: Tensor;
  /** Write into this [N] f32 tensor. */
  out?: Tensor;
}

/** db[n] = sum over all leading dimensions of dY [..., N] (the gradient of a bias added to every row). */
export async function colSum(rec: Recorder, dy: Tensor, opts: ColSumOptions = {}): Promise<Tensor> {
  const K = 'colSum';
  checkDtype(K, dy, 'f32');
  checkThat(K, dy.rank >= 1, `input ${fmtShape(dy.shape)} has no last dimension`);
  checkThat(K, !(opts.accumulate && opts.out), 'give either accumulate or out, not both');
  const n = dy.shape[dy.rank - 1]!;
  const rows = n === 0 ? 0 : dy.size / n;
  const out = opts.accumulate ?? opts.out ?? rec.gpu.empty([n], 'f32', K);
  checkDtype(K, out, 'f32');
  checkShape(K, `column sums of ${fmtShape(dy.shape)}`, out, [n]);
  await colReduce(rec, K, 0, dy, null, null, rows, n, out, opts.accumulate !== undefined);
  return out;
}
