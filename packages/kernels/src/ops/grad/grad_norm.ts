// Global gradient norm and clipping without a readback (wgsl/grad/sumsq.wgsl, sumsq_final.wgsl,
// scale_by.wgsl).
import { checkDtype, checkShape, checkThat } from '../../check.js';
import { fmtShape } from '../../errors.js';
import { grid1d, type Recorder } from '../../recorder.js';
import type { Tensor } from '../../tensor.js';
import { params, wgsl } from '../../wgsl.js';
import { LLVMPIPE_LOOP_CAP } from '../rowwise.js';

const WG = 256;
/** Elements per first-stage invocation (CH in sumsq.wgsl). */
const CHUNK = 256;

export interface GradNorm {
  /** [1]: sum of squares of every element of every tensor (the norm is its square root). */
  sumSquares: Tensor;
  /** [1]: min(1, maxNorm / (norm + 1e-6)), or 1 without maxNorm: pass to adam's gradScale. */
  scale: Tensor;
}

/**
 * Sum of squares over many f32 tensors (deterministic: fixed chunks, fixed order) and the
 * clip factor of torch.nn.utils.clip_grad_norm_ for maxNorm (omit or <= 0: no clipping).
 */
export async function gradNorm(rec: Recorder, tensors: readonly Tensor[], maxNorm = 0): Promise<GradNorm> {
  const K = 'gradNorm';
  checkThat(K, Number.isFinite(maxNorm), `maxNorm must be finite, got ${maxNorm}`);
  let total = 0;
  for (const t of tensors) {
    checkDtype(K, t, 'f32');
    total += Math.ceil(t.size / CHUNK);
  }
  checkThat(K, total <= LLVMPIPE_LOOP_CAP, `${total} partial sums exceed the final pass's loop cap ${LLVMPIPE_LOOP_CAP} (over ${CHUNK * LLVMPIPE_LOOP_CAP} elements)`);
  const partial = rec.gpu.empty([Math.max(total, 1)], 'f32', `${K} partials`);
  const pipe = await rec.gpu.pipeline(K, wgsl('grad/sumsq.wgsl'), { WG });
  let off = 0;
  for (const t of tensors) {
    const chunks = Math.ceil(t.size / CHUNK);
    if (chunks === 0) continue;
    rec.dispatch(pipe, params([t.size, off, 0, 0]), [t, partial], grid1d(chunks, WG));
    off += chunks;
  }
  const sumSquares = rec.gpu.empty([1], 'f32', `${K} sumSquares`);
  const scale = rec.gpu.empty([1], 'f32', `${K} scale`);
  const fin = await rec.gpu.pipeline(`${K} final`, wgsl('grad/sumsq_final.wgsl'));
  rec.dispatch(fin, params([total, 0, { f32: maxNorm }, 0]), [partial, sumSquares, scale], [1], 2);
  rec.releaseAfterSubmit(partial);
  return { sumSquares, scale };
}

/** x *= s[0] in place, for a [1] f32 tensor s computed on the GPU (e.g. gradNorm's scale). */
export async function scaleByTensor(rec: Recorder, x: Tensor, s: Tensor): Promise<Tensor> {
  const K = 'scaleByTensor';
  checkDtype(K, x, 'f32');
  checkDtype(K, s, 'f32');
  checkShape(K, `scale for ${fmtShape(x.shape)}`, s, [1]);
  if (x.size === 0) return x;
  const pipe = await rec.gpu.pipeline(K, wgsl('grad/scale_by.wgsl'), { WG });
  rec.dispatch(pipe, params([x.size, 0, 0, 0]), [s, x], grid1d(x.size, WG));
  return x;
}
