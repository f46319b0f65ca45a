// RoPE backward: rotate dy by -angle, i.e. wgsl/rope.wgsl with SIN_SIGN = -1.
import { checkThat } from '../../check.js';
import { grid1d, type Recorder } from '../../recorder.js';
import type { Tensor } from '../../tensor.js';
import { params, wgsl } from '../../wgsl.js';
import { cachedRopeTable, checkRopeInput } from '../rope.js';

const WG = 256;

export interface RopeBackwardOptions {
  /** Position of t = 0. */
  pos0: number;
  /** Frequency base: inv_freq[i] = theta^(-2i/D). */
  theta: number;
}

/** dx [B, T, H, D] of y = rope(x; pos0, theta) given dy (same layout as the forward). */
export async function ropeBackward(rec: Recorder, dy: Tensor, opts: RopeBackwardOptions): Promise<Tensor> {
  const K = 'ropeBackward';
  const { pos0, theta } = opts;
  const [T, H, D] = checkRopeInput(K, 'dy', dy, pos0);
  checkThat(K, Number.isFinite(theta) && theta > 0, `theta must be a finite number > 0, got ${theta}`);
  const dx = rec.gpu.empty(dy.shape, 'f32', K);
  const n = (dy.size / (H * D)) * (D / 2);
  const pipe = await rec.gpu.pipeline(K, wgsl('rope.wgsl'), { WG, SIN_SIGN: -1 });
  rec.dispatch(pipe, params([n, D / 2, H, T, pos0, 0, 0, 0]), [dy, cachedRopeTable(rec.gpu, D, theta), dx], grid1d(n, WG));
  return dx;
}
