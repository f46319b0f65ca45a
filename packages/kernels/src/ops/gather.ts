// Embedding lookup (wgsl/gather.wgsl) over a table that may exceed the binding limit.
import { checkDtype, checkRank, checkShape } from '../check.js';
import { fmtShape } from '../errors.js';
import { grid1d, type Recorder } from '../recorder.js';
import type { Tensor } from '../tensor.js';
import { params, wgsl } from '../wgsl.js';
import { indexCount, indexTensor, type Indices } from './indices.js';
import { NAN_BITS } from './rowwise.js';

const WG = 256;

export interface EmbeddingOptions {
  /** Output f32 [N, H]. */
  out?: Tensor;
  /** Binding limit override (tests only: exercises the chunked path on small tables). */
  maxBindingBytes?: number;
}

/**
 * out[k, :] = table[ids[k], :] for table [V, H] (f32, or packed f16 widened to f32) -> f32 [N, H].
 * Host ids are validated (KernelError naming the id and its position); for an i32 tensor of ids,
 * an id outside [0, V) yields a row of NaN. A table over the binding limit is bound in row
 * chunks, one dispatch each.
 */
export async function embedding(rec: Recorder, table: Tensor, ids: Indices, opts: EmbeddingOptions = {}): Promise<Tensor> {
  const K = 'embedding';
  checkDtype(K, table, 'f32', 'f16');
  checkRank(K, table, 2);
  const [v, h] = table.shape as [number, number];
  const n = indexCount(K, 'id', ids);
  const idsT = indexTensor(rec, K, 'id', ids, v, 'the vocabulary');
  const y = opts.out ?? rec.gpu.empty([n, h], 'f32', K);
  checkDtype(K, y, 'f32');
  checkShape(K, `output for ${n} ids from table ${fmtShape(table.shape)}`, y, [n, h]);
  if (n === 0 || h === 0) return y;
  const f16 = table.dtype === 'f16';
  const pipe = await rec.gpu.pipeline(K, wgsl('gather.wgsl'), { WG, F16: f16 ? 1 : 0 });
  const max = opts.maxBindingBytes ?? rec.gpu.maxBinding;
  const chunks = table.byteLength <= max ? [table] : table.rowChunks(max);
  let r0 = 0;
  chunks.forEach((c, i) => {
    const count = c.shape[0]!;
    rec.dispatch(pipe, params([n * h, h, r0, count, v, i === 0 ? 1 : 0, NAN_BITS, 0]), [c, idsT, y], grid1d(n * h, WG));
    r0 += count;
  });
  return y;
}
