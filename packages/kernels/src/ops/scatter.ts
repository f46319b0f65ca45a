// Row scatter into an existing tensor (wgsl/scatter.wgsl): image features into the embedding
// rows of the image tokens.
import { checkDtype, checkRank, checkThat } from '../check.js';
import { fmtShape } from '../errors.js';
import { grid1d, type Recorder } from '../recorder.js';
import type { Tensor } from '../tensor.js';
import { params, wgsl } from '../wgsl.js';
import { indexCount, indexTensor, type Indices } from './indices.js';

const WG = 256;

/**
 * dst[rows[i], :] = src[i, :] for dst [N, H], src [M, H], rows [M]; writes dst in place and
 * returns it. dst and src have the same 32-bit dtype (f32, i32 or u32). Host rows are validated
 * (in range, no duplicates); for an i32 tensor of rows, rows outside [0, N) are skipped and
 * duplicates leave either source row (unspecified).
 */
export async function scatterRows(rec: Recorder, dst: Tensor, src: Tensor, rows: Indices): Promise<Tensor> {
  const K = 'scatterRows';
  checkDtype(K, dst, 'f32', 'i32', 'u32');
  checkRank(K, dst, 2);
  checkRank(K, src, 2);
  const [n, h] = dst.shape as [number, number];
  const [m, hs] = src.shape as [number, number];
  checkThat(K, src.dtype === dst.dtype, `src ${fmtShape(src.shape)} is ${src.dtype} but dst ${fmtShape(dst.shape)} is ${dst.dtype}`);
  checkThat(K, hs === h, `src ${fmtShape(src.shape)} and dst ${fmtShape(dst.shape)} differ in row length`);
  const count = indexCount(K, 'row', rows);
  checkThat(K, count === m, `${count} rows for src ${fmtShape(src.shape)}; one row index per src row`);
  const rowsT = indexTensor(rec, K, 'row', rows, n, `the rows of dst ${fmtShape(dst.shape)}`, true);
  if (m === 0 || h === 0) return dst;
  const pipe = await rec.gpu.pipeline(K, wgsl('scatter.wgsl'), { WG });
  rec.dispatch(pipe, params([m * h, h, n, 0]), [src, rowsT, dst], grid1d(m * h, WG));
  return dst;
}
