// Per-position cross-entropy of selected logit rows (wgsl/cross_entropy.wgsl): the MTV
// REINFORCE reward and validation loss (CE of the first answer token).
import { checkDtype, checkRank, checkThat } from '../check.js';
import { fmtShape } from '../errors.js';
import type { Recorder } from '../recorder.js';
import type { Tensor } from '../tensor.js';
import { params, wgsl } from '../wgsl.js';
import { indexCount, indexTensor, type Indices } from './indices.js';
import { NAN_BITS, chooseVariant, entryPoint, rowChunksOf, rowGrid, workgroupSize, type RowOptions } from './rowwise.js';

export interface CrossEntropyOptions extends RowOptions {
  /** Output f32 [K]. */
  out?: Tensor;
  /** Binding limit override (tests only: exercises the chunked path on small tensors). */
  maxBindingBytes?: number;
}

/**
 * losses[k] = -log_softmax(logits[rows[k], :])[targets[k]] for logits [M, N] -> f32 [K].
 * Host index arrays are validated (rows < M, targets < N); for i32 tensors an out-of-range row
 * or target gives a NaN loss instead.
 */
export async function crossEntropy(rec: Recorder, logits: Tensor, rows: Indices, targets: Indices, opts: CrossEntropyOptions = {}): Promise<Tensor> {
  const K = 'crossEntropy';
  checkDtype(K, logits, 'f32');
  checkRank(K, logits, 2);
  const [m, n] = logits.shape as [number, number];
  checkThat(K, n >= 1, `logits ${fmtShape(logits.shape)} have an empty vocabulary`);
  const k = indexCount(K, 'row', rows);
  const kt = indexCount(K, 'target', targets);
  checkThat(K, k === kt, `${k} rows but ${kt} targets; one target per scored row`);
  const rowsT = indexTensor(rec, K, 'row', rows, m, `the logits rows of ${fmtShape(logits.shape)}`);
  const targetsT = indexTensor(rec, K, 'target', targets, n, 'the vocabulary');
  const y = opts.out ?? rec.gpu.empty([k], 'f32', K);
  checkDtype(K, y, 'f32');
  checkThat(K, y.rank === 1 && y.size === k, `output ${fmtShape(y.shape)} does not match ${k} losses`);
  if (k === 0) return y;
  const variant = chooseVariant(K, rec.gpu, k, n, 2, opts.variant);
  const pipe = await rec.gpu.pipeline(K, wgsl('cross_entropy.wgsl'), { WG: workgroupSize(variant) }, entryPoint(variant));
  rowChunksOf(logits, m, n, opts.maxBindingBytes ?? rec.gpu.maxBinding).forEach((c, i) => {
    rec.dispatch(pipe, params([k, n, c.start, c.count, m, i === 0 ? 1 : 0, NAN_BITS, 0]), [c.view, rowsT, targetsT, y], rowGrid(variant, k));
  });
  return y;
}
