// Embedding backward (wgsl/grad/embedding.wgsl) and the row-scatter backward
// (wgsl/grad/gather_rows.wgsl).
import { checkDtype, checkRank, checkShape, checkThat } from '../../check.js';
import { KernelError, fmtShape } from '../../errors.js';
import { grid1d, type Recorder } from '../../recorder.js';
import type { Tensor } from '../../tensor.js';
import { params, wgsl } from '../../wgsl.js';
import { indexCount, indexTensor, unpooledUpload, type Indices } from '../indices.js';

const WG = 256;

export interface EmbeddingBackwardOptions {
  /** dtable += the gradient, in place on this [V, H] tensor (gradient accumulation); returned. */
  accumulate?: Tensor;
}

/**
 * CSR of positions by id: [offsets (V + 1), positions sorted by id (stable)]. Ids of -1 are
 * skipped (positions whose embedding was overwritten, e.g. image tokens).
 */
export function embeddingCsr(kernel: string, ids: ArrayLike<number>, vocab: number): Int32Array {
  const counts = new Int32Array(vocab + 1);
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i]!;
    if (id === -1) continue;
    if (!Number.isInteger(id) || id < 0 || id >= vocab) throw new KernelError(kernel, `id ${id} at position ${i} is outside the vocabulary [0, ${vocab}) (use -1 to skip a position)`);
    counts[id + 1]++;
  }
  const out = new Int32Array(vocab + 1 + ids.length);
  for (let v = 0; v < vocab; v++) out[v + 1] = out[v]! + counts[v + 1]!;
  const fill = out.slice(0, vocab);
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i]!;
    if (id >= 0) out[vocab + 1 + fill[id]++] = i;
  }
  return out;
}

/**
 * dtable [V, H] of out = embedding(table, ids) given dy [N, H]: dtable[v] = sum of dy[i] over
 * positions i with ids[i] = v, summed in position order (deterministic, no atomics). ids are host
 * values (the trainer has them); -1 skips a position. vocab = V.
 */
export async function embeddingBackward(rec: Recorder, dy: Tensor, ids: Int32Array | readonly number[], vocab: number, opts: EmbeddingBackwardOptions = {}): Promise<Tensor> {
  const K = 'embeddingBackward';
  checkDtype(K, dy, 'f32');
  checkRank(K, dy, 2);
  const [n, h] = dy.shape as [number, number];
  checkThat(K, ids.length === n, `${ids.length} ids for dy ${fmtShape(dy.shape)}; one id per row`);
  checkThat(K, Number.isInteger(vocab) && vocab >= 1, `vocab must be a positive integer, got ${vocab}`);
  const out = opts.accumulate ?? rec.gpu.empty([vocab, h], 'f32', K);
  checkDtype(K, out, 'f32');
  checkShape(K, `dtable for ${vocab} ids x dy ${fmtShape(dy.shape)}`, out, [vocab, h]);
  if (h === 0) return out;
  const csr = unpooledUpload(rec.gpu, embeddingCsr(K, ids, vocab), 'i32', `${K} csr`);
  const pipe = await rec.gpu.pipeline(K, wgsl('grad/embedding.wgsl'), { ACC: opts.accumulate ? 1 : 0, WG });
  rec.dispatch(pipe, params([vocab * h, h, vocab, 0]), [dy, csr, out], grid1d(vocab * h, WG));
  return out;
}

/**
 * Backward of scatterRows(dst, src, rows) (dst[rows[i]] = src[i]): dsrc [M, H] with
 * dsrc[i] = ddst[rows[i]] for ddst [N, H]. Host rows are validated; an i32 tensor of rows must
 * hold rows inside [0, N). (The embedding rows that src overwrote get no gradient: give those
 * positions id -1 in embeddingBackward.)
 */
export async function scatterRowsBackward(rec: Recorder, ddst: Tensor, rows: Indices): Promise<Tensor> {
  const K = 'scatterRowsBackward';
  checkDtype(K, ddst, 'f32');
  checkRank(K, ddst, 2);
  const [n, h] = ddst.shape as [number, number];
  const m = indexCount(K, 'row', rows);
  const rowsT = indexTensor(rec, K, 'row', rows, n, `the rows of ddst ${fmtShape(ddst.shape)}`);
  const dsrc = rec.gpu.empty([m, h], 'f32', K);
  if (m === 0 || h === 0) return dsrc;
  const pipe = await rec.gpu.pipeline(K, wgsl('grad/gather_rows.wgsl'), { WG });
  rec.dispatch(pipe, params([m * h, h, 0, 0]), [ddst, rowsT, dsrc], grid1d(m * h, WG));
  return dsrc;
}
