// Activation backward (wgsl/grad/act.wgsl, wgsl/grad/swiglu.wgsl).
import { checkDtype, checkShape, checkThat } from '../../check.js';
import { fmtShape } from '../../errors.js';
import { grid1d, type Recorder } from '../../recorder.js';
import type { Tensor } from '../../tensor.js';
import { params, wgsl } from '../../wgsl.js';

const WG = 256;
const OPS = { gelu: 0, gelu_tanh: 1, quick_gelu: 2, silu: 3 } as const;
export type ActBackwardOp = keyof typeof OPS;

function sameF32(kernel: string, ref: Tensor, what: string, t: Tensor): void {
  checkDtype(kernel, t, 'f32');
  checkShape(kernel, `${what} (for input ${fmtShape(ref.shape)})`, t, ref.shape);
}

/** dx = dy * act'(x) for the forward input x (any shape; dy the same shape). */
export async function activationBackward(rec: Recorder, op: ActBackwardOp, x: Tensor, dy: Tensor, opts: { out?: Tensor } = {}): Promise<Tensor> {
  const K = `${op}Backward`;
  checkThat(K, op in OPS, `unknown activation '${op}'`);
  checkDtype(K, x, 'f32');
  sameF32(K, x, 'dy', dy);
  const dx = opts.out ?? rec.gpu.empty(x.shape, 'f32', K);
  sameF32(K, x, 'output', dx);
  const pipe = await rec.gpu.pipeline(K, wgsl('grad/act.wgsl'), { OP: OPS[op], WG });
  rec.dispatch(pipe, params([x.size, 0, 0, 0]), [x, dy, dx], grid1d(x.size, WG));
  return dx;
}

/** SwiGLU backward for y = silu(gate) * up: returns dgate and dup (same shape as gate). */
export async function siluMulBackward(rec: Recorder, gate: Tensor, up: Tensor, dy: Tensor): Promise<{ dgate: Tensor; dup: Tensor }> {
  const K = 'siluMulBackward';
  checkDtype(K, gate, 'f32');
  sameF32(K, gate, 'up', up);
  sameF32(K, gate, 'dy', dy);
  const dgate = rec.gpu.empty(gate.shape, 'f32', `${K} dgate`);
  const dup = rec.gpu.empty(gate.shape, 'f32', `${K} dup`);
  const pipe = await rec.gpu.pipeline(K, wgsl('grad/swiglu.wgsl'), { WG });
  rec.dispatch(pipe, params([gate.size, 0, 0, 0]), [gate, up, dy, dgate, dup], grid1d(gate.size, WG), 2);
  return { dgate, dup };
}
