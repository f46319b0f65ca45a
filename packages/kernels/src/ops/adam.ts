// One AdamW optimiser step in place on param, m, v (wgsl/adam.wgsl).
import { checkDtype, checkShape, checkThat } from '../check.js';
import { fmtShape } from '../errors.js';
import { grid1d, type Recorder } from '../recorder.js';
import type { Tensor } from '../tensor.js';
import { params, wgsl } from '../wgsl.js';
import { dummyTensor } from './grad/dummy.js';

const WG = 256;

export interface AdamOptions {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  /** Decoupled (AdamW) weight decay: param *= 1 - lr * weightDecay. 0 for plain Adam. */
  weightDecay: number;
  /** 1-based step count, for the bias corrections. */
  step: number;
  /** A [1] f32 tensor whose value multiplies the gradient (e.g. clipGradNorm's scale). */
  gradScale?: Tensor;
}

/**
 * AdamW (PyTorch semantics) on one parameter tensor: param, m and v (same shape as grad, f32)
 * are updated in place; they must be distinct buffers from grad and from each other.
 */
export async function adam(rec: Recorder, param: Tensor, grad: Tensor, m: Tensor, v: Tensor, o: AdamOptions): Promise<void> {
  const K = 'adam';
  for (const [what, t] of [['param', param], ['grad', grad], ['m', m], ['v', v]] as const) {
    checkDtype(K, t, 'f32');
    if (t !== param) checkShape(K, `${what} for param ${fmtShape(param.shape)}`, t, param.shape);
  }
  checkThat(K, Number.isInteger(o.step) && o.step >= 1, `step must be an integer >= 1, got ${o.step}`);
  checkThat(K, o.beta1 >= 0 && o.beta1 < 1 && o.beta2 >= 0 && o.beta2 < 1, `betas must be in [0, 1), got ${o.beta1}, ${o.beta2}`);
  checkThat(K, Number.isFinite(o.lr) && o.lr >= 0 && Number.isFinite(o.eps) && o.eps >= 0 && Number.isFinite(o.weightDecay), `lr ${o.lr}, eps ${o.eps}, weightDecay ${o.weightDecay} must be finite (lr, eps >= 0)`);
  if (o.gradScale) {
    checkDtype(K, o.gradScale, 'f32');
    checkShape(K, 'gradScale', o.gradScale, [1]);
  }
  if (param.size === 0) return;
  const bc1 = 1 - o.beta1 ** o.step;
  const bc2 = 1 - o.beta2 ** o.step;
  const u = params([param.size, { f32: o.beta1 }, { f32: o.beta2 }, { f32: o.eps }, { f32: 1 - o.lr * o.weightDecay }, { f32: o.lr / bc1 }, { f32: 1 / Math.sqrt(bc2) }, 0]);
  const pipe = await rec.gpu.pipeline(K, wgsl('adam.wgsl'), { HAS_SCALE: o.gradScale ? 1 : 0, WG });
  // param, m, v are written: bound last as outputs (the recorder refuses overlapping bindings)
  rec.dispatch(pipe, u, [grad, o.gradScale ?? dummyTensor(rec.gpu), param, m, v], grid1d(param.size, WG), 3);
}
