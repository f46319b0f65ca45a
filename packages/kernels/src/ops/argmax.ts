// argmax over the last dimension (wgsl/argmax.wgsl): greedy decoding over a vocabulary row.
import { checkDtype, checkShape } from '../check.js';
import type { Recorder } from '../recorder.js';
import type { Tensor } from '../tensor.js';
import { params, wgsl } from '../wgsl.js';
import { chooseVariant, entryPoint, rowChunksOf, rowGrid, rowsOf, workgroupSize, type RowOptions } from './rowwise.js';

export interface ArgmaxOptions extends RowOptions {
  /** Output i32 tensor with one element per row. */
  out?: Tensor;
  /** Write -1 for a row holding any NaN or +-Inf (greedy decoding's non-finite check, no logits readback). */
  flagNonFinite?: boolean;
  /** Binding limit override (tests only: exercises the chunked path on small tensors). */
  maxBindingBytes?: number;
}

/** The index of the first maximum of each row of x [..., N] -> i32 [...] (x [M, N] gives [M]); -1 for a non-finite row with `flagNonFinite`. */
export async function argmax(rec: Recorder, x: Tensor, opts: ArgmaxOptions = {}): Promise<Tensor> {
  checkDtype('argmax', x, 'f32');
  const [rows, n] = rowsOf('argmax', 'input', x);
  const outShape = x.shape.slice(0, -1);
  const y = opts.out ?? rec.gpu.empty(outShape, 'i32', 'argmax');
  checkDtype('argmax', y, 'i32');
  checkShape('argmax', 'output', y, outShape);
  const variant = chooseVariant('argmax', rec.gpu, rows, n, 1, opts.variant);
  const pipe = await rec.gpu.pipeline('argmax', wgsl('argmax.wgsl'), { WG: workgroupSize(variant), ...(opts.flagNonFinite ? { FLAG_NONFINITE: 1 } : {}) }, entryPoint(variant));
  for (const c of rowChunksOf(x, rows, n, opts.maxBindingBytes ?? rec.gpu.maxBinding)) {
    rec.dispatch(pipe, params([c.count, n, c.start, 0]), [c.view, y], rowGrid(variant, c.count));
  }
  return y;
}
