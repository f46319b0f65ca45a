// RoPE backward (wgsl/grad/rope.wgsl): rotate dy by -angle.
import { checkDtype, checkRank, checkThat } from '../../check.js';
import { fmtShape } from '../../errors.js';
import type { Gpu } from '../../gpu.js';
import { grid1d, type Recorder } from '../../recorder.js';
import type { Tensor } from '../../tensor.js';
import { params, wgsl } from '../../wgsl.js';
import { unpooledUpload } from '../indices.js';
import { ROPE_MAX_POSITION, ropeInvFreq, ropeTable } from '../rope.js';

const WG = 256;
const tables = new WeakMap<Gpu, Map<string, Tensor>>();

function table(gpu: Gpu, d: number, theta: number): Tensor {
  let m = tables.get(gpu);
  if (!m) tables.set(gpu, (m = new Map()));
  const key = `${d}:${theta}`;
  let t = m.get(key);
  if (!t) m.set(key, (t = unpooledUpload(gpu, ropeTable(ropeInvFreq(d, theta)), 'f32', `rope backward table D=${d} theta=${theta}`)));
  return t;
}

export interface RopeBackwardOptions {
  /** Position of t = 0. */
  pos0: number;
  /** Frequency base: inv_freq[i] = theta^(-2i/D). */
  theta: number;
}

/** dx [B, T, H, D] of y = rope(x; pos0, theta) given dy (same layout as the forward). */
export async function ropeBackward(rec: Recorder, dy: Tensor, opts: RopeBackwardOptions): Promise<Tensor> {
  const K = 'ropeBackward';
  checkDtype(K, dy, 'f32');
  checkRank(K, dy, 4);
  const [, T, H, D] = dy.shape as [number, number, number, number];
  checkThat(K, D >= 2 && D % 2 === 0, `head dim ${D} of dy ${fmtShape(dy.shape)} must be even`);
  checkThat(K, H >= 1 && H <= 4096, `dy ${fmtShape(dy.shape)} has ${H} heads; 1 to 4096 are supported`);
  const { pos0, theta } = opts;
  checkThat(K, Number.isInteger(pos0) && pos0 >= 0 && pos0 + T <= ROPE_MAX_POSITION, `positions [${pos0}, ${pos0 + T}) must be integers in [0, 2^24)`);
  checkThat(K, Number.isFinite(theta) && theta > 0, `theta must be a finite number > 0, got ${theta}`);
  const dx = rec.gpu.empty(dy.shape, 'f32', K);
  const n = (dy.size / (H * D)) * (D / 2);
  const pipe = await rec.gpu.pipeline(K, wgsl('grad/rope.wgsl'), { WG });
  rec.dispatch(pipe, params([n, D / 2, H, T, pos0, 0, 0, 0]), [dy, table(rec.gpu, D, theta), dx], grid1d(n, WG));
  return dx;
}
