// Fused softmax cross-entropy forward + backward for training (wgsl/grad/cross_entropy.wgsl).
import { checkDtype, checkRank, checkThat } from '../../check.js';
import { KernelError, fmtShape } from '../../errors.js';
import { grid1d, type Recorder } from '../../recorder.js';
import type { Tensor } from '../../tensor.js';
import { params, wgsl } from '../../wgsl.js';
import { unpooledUpload } from '../indices.js';
import { LLVMPIPE_LOOP_CAP, loopIterations } from '../rowwise.js';

const WG = 64;

export interface CrossEntropyTrainOptions {
  /** dlogits = (softmax - onehot) / normalizer; default the number of scored rows (mean loss). */
  normalizer?: number;
}

/**
 * For logits [M, V] and host targets [M] (-1 = ignored row): loss [M] (0 on ignored rows) and
 * dlogits [M, V], the gradient of sum(loss) / normalizer.
 */
export async function crossEntropyTrain(rec: Recorder, logits: Tensor, targets: Int32Array | readonly number[], opts: CrossEntropyTrainOptions = {}): Promise<{ loss: Tensor; dlogits: Tensor; count: number }> {
  const K = 'crossEntropyTrain';
  checkDtype(K, logits, 'f32');
  checkRank(K, logits, 2);
  const [m, v] = logits.shape as [number, number];
  checkThat(K, v >= 1, `logits ${fmtShape(logits.shape)} have an empty vocabulary`);
  checkThat(K, targets.length === m, `${targets.length} targets for logits ${fmtShape(logits.shape)}; one per row`);
  let count = 0;
  for (let i = 0; i < m; i++) {
    const t = targets[i]!;
    if (t === -1) continue;
    if (!Number.isInteger(t) || t < 0 || t >= v) throw new KernelError(K, `target ${t} at row ${i} is outside the vocabulary [0, ${v}) (use -1 to ignore a row)`);
    count++;
  }
  const norm = opts.normalizer ?? Math.max(count, 1);
  checkThat(K, Number.isFinite(norm) && norm > 0, `normalizer must be a finite number > 0, got ${norm}`);
  checkThat(K, !rec.gpu.report.cpuAdapter || loopIterations('row', v, 3) <= LLVMPIPE_LOOP_CAP, `a vocabulary of ${v} (logits ${fmtShape(logits.shape)}) needs ${loopIterations('row', v, 3)} loop iterations per invocation; llvmpipe stops loops after ${LLVMPIPE_LOOP_CAP}`);
  const loss = rec.gpu.empty([m], 'f32', `${K} loss`);
  const dlogits = rec.gpu.empty([m, v], 'f32', `${K} dlogits`);
  if (m === 0) return { loss, dlogits, count };
  const t = unpooledUpload(rec.gpu, targets instanceof Int32Array ? targets : Int32Array.from(targets), 'i32', `${K} targets`);
  const pipe = await rec.gpu.pipeline(K, wgsl('grad/cross_entropy.wgsl'), { WG });
  rec.dispatch(pipe, params([m, v, { f32: 1 / norm }, 0]), [logits, t, loss, dlogits], grid1d(m, WG), 2);
  return { loss, dlogits, count };
}
