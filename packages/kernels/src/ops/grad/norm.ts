// LayerNorm / RMSNorm backward (wgsl/grad/layernorm.wgsl, wgsl/grad/rmsnorm.wgsl for dx; the
// weight and bias gradients are deterministic column reductions, wgsl/grad/colreduce.wgsl).
import { checkDtype, checkShape, checkThat } from '../../check.js';
import { fmtShape } from '../../errors.js';
import { grid1d, type Recorder } from '../../recorder.js';
import type { Tensor } from '../../tensor.js';
import { params, wgsl } from '../../wgsl.js';
import { LLVMPIPE_LOOP_CAP, loopIterations, rowsOf } from '../rowwise.js';
import { colReduce } from './colsum.js';

const WG = 64;

export interface NormBackwardOptions {
  /** Add the weight (and bias) gradients into these tensors instead of returning new ones. */
  accumulate?: { dweight: Tensor; dbias?: Tensor };
}

function setup(rec: Recorder, K: string, x: Tensor, dy: Tensor, weight: Tensor, eps: number, passes: number): [number, number] {
  checkDtype(K, x, 'f32');
  const [rows, h] = rowsOf(K, 'input', x);
  checkDtype(K, dy, 'f32');
  checkShape(K, `dy for input ${fmtShape(x.shape)}`, dy, x.shape);
  checkDtype(K, weight, 'f32');
  checkShape(K, `weight for input ${fmtShape(x.shape)}`, weight, [h]);
  checkThat(K, Number.isFinite(eps) && eps >= 0, `eps must be a finite number >= 0, got ${eps}`);
  // one serial invocation per row: llvmpipe silently stops loops past its iteration cap
  checkThat(
    K,
    !rec.gpu.report.cpuAdapter || loopIterations('row', h, passes) <= LLVMPIPE_LOOP_CAP,
    `rows of ${h} values (input ${fmtShape(x.shape)}) need ${loopIterations('row', h, passes)} loop iterations per invocation; llvmpipe stops loops after ${LLVMPIPE_LOOP_CAP}`,
  );
  return [rows, h];
}

function gradTarget(rec: Recorder, K: string, what: string, h: number, given: Tensor | undefined): Tensor {
  if (!given) return rec.gpu.empty([h], 'f32', `${K} ${what}`);
  checkDtype(K, given, 'f32');
  checkShape(K, `accumulated ${what}`, given, [h]);
  return given;
}

/** Gradients of y = layernorm(x; weight, bias, eps) over the last dim of x [..., H], given dy. */
export async function layernormBackward(rec: Recorder, x: Tensor, dy: Tensor, weight: Tensor, eps: number, opts: NormBackwardOptions = {}): Promise<{ dx: Tensor; dweight: Tensor; dbias: Tensor }> {
  const K = 'layernormBackward';
  const [rows, h] = setup(rec, K, x, dy, weight, eps, 4);
  const acc = opts.accumulate;
  checkThat(K, !acc || acc.dbias !== undefined, 'accumulate needs both dweight and dbias for layernorm');
  const dx = rec.gpu.empty(x.shape, 'f32', `${K} dx`);
  const stats = rec.gpu.empty([Math.max(rows, 1), 4], 'f32', `${K} stats`);
  const dweight = gradTarget(rec, K, 'dweight', h, acc?.dweight);
  const dbias = gradTarget(rec, K, 'dbias', h, acc?.dbias);
  const pipe = await rec.gpu.pipeline(K, wgsl('grad/layernorm.wgsl'), { WG });
  rec.dispatch(pipe, params([rows, h, { f32: eps }, 0]), [x, dy, weight, dx, stats], grid1d(rows, WG), 2);
  await colReduce(rec, K, 1, dy, x, stats, rows, h, dweight, acc !== undefined);
  await colReduce(rec, K, 0, dy, null, null, rows, h, dbias, acc !== undefined);
  rec.releaseAfterSubmit(stats);
  return { dx, dweight, dbias };
}

/** Gradients of y = rmsnorm(x; weight, eps) over the last dim of x [..., H], given dy. */
export async function rmsnormBackward(rec: Recorder, x: Tensor, dy: Tensor, weight: Tensor, eps: number, opts: NormBackwardOptions = {}): Promise<{ dx: Tensor; dweight: Tensor }> {
  const K = 'rmsnormBackward';
  const [rows, h] = setup(rec, K, x, dy, weight, eps, 2);
  const dx = rec.gpu.empty(x.shape, 'f32', `${K} dx`);
  const stats = rec.gpu.empty([Math.max(rows, 1), 4], 'f32', `${K} stats`);
  const dweight = gradTarget(rec, K, 'dweight', h, opts.accumulate?.dweight);
  const pipe = await rec.gpu.pipeline(K, wgsl('grad/rmsnorm.wgsl'), { WG });
  rec.dispatch(pipe, params([rows, h, { f32: eps }, 0]), [x, dy, weight, dx, stats], grid1d(rows, WG), 2);
  await colReduce(rec, K, 2, dy, x, stats, rows, h, dweight, opts.accumulate !== undefined);
  rec.releaseAfterSubmit(stats);
  return { dx, dweight };
}
