// Softmax and log-softmax over the last dimension (wgsl/softmax.wgsl), max-subtracted.
import { checkDtype, checkThat } from '../check.js';
import { fmtShape } from '../errors.js';
import type { Recorder } from '../recorder.js';
import type { Tensor } from '../tensor.js';
import { params, wgsl } from '../wgsl.js';
import { chooseVariant, entryPoint, rowChunksOf, rowGrid, rowsOf, workgroupSize, type RowOptions } from './rowwise.js';

export interface SoftmaxOptions extends RowOptions {
  /** Output tensor (same shape as x, f32); must not alias x. */
  out?: Tensor;
  /** Binding limit override (tests only: exercises the chunked path on small tensors). */
  maxBindingBytes?: number;
}

async function run(rec: Recorder, kernel: 'softmax' | 'logSoftmax', x: Tensor, opts: SoftmaxOptions): Promise<Tensor> {
  checkDtype(kernel, x, 'f32');
  const [rows, n] = rowsOf(kernel, 'input', x);
  const y = opts.out ?? rec.gpu.empty(x.shape, 'f32', kernel);
  checkThat(kernel, y.dtype === 'f32' && y.size === x.size && y.shape[y.rank - 1] === n, `output ${fmtShape(y.shape)} ${y.dtype} does not match input ${fmtShape(x.shape)}`);
  const variant = chooseVariant(kernel, rec.gpu, rows, n, 3, opts.variant);
  const pipe = await rec.gpu.pipeline(kernel, wgsl('softmax.wgsl'), { WG: workgroupSize(variant), LOG: kernel === 'logSoftmax' ? 1 : 0 }, entryPoint(variant));
  const max = opts.maxBindingBytes ?? rec.gpu.maxBinding;
  const xs = rowChunksOf(x, rows, n, max);
  const ys = rowChunksOf(y, rows, n, max);
  xs.forEach((c, i) => rec.dispatch(pipe, params([c.count, n, 0, 0]), [c.view, ys[i]!.view], rowGrid(variant, c.count)));
  return y;
}

/** softmax(x) over the last dimension of x [..., N]. */
export const softmax = (rec: Recorder, x: Tensor, opts: SoftmaxOptions = {}): Promise<Tensor> => run(rec, 'softmax', x, opts);

/** log_softmax(x) over the last dimension of x [..., N]. */
export const logSoftmax = (rec: Recorder, x: Tensor, opts: SoftmaxOptions = {}): Promise<Tensor> => run(rec, 'logSoftmax', x, opts);
