// Elementwise ops (wgsl/elementwise.wgsl): residual add, mul, scale, GELU (erf), GELU (tanh),
// quick_gelu, SiLU, SiLU*mul (SwiGLU).
import { checkDtype, checkThat } from '../check.js';
import { fmtShape } from '../errors.js';
import type { Recorder } from '../recorder.js';
import { grid1d } from '../recorder.js';
import type { Tensor } from '../tensor.js';
import { params, wgsl } from '../wgsl.js';

const WG = 256;
const OPS = { add: 0, mul: 1, scale: 2, gelu: 3, gelu_tanh: 4, quick_gelu: 5, silu_mul: 6, silu: 7 } as const;
export type UnaryOp = 'gelu' | 'gelu_tanh' | 'quick_gelu' | 'silu';
export type BinaryOp = 'add' | 'mul' | 'silu_mul';

async function run(rec: Recorder, op: keyof typeof OPS, a: Tensor, b: Tensor | null, alpha: number, out?: Tensor): Promise<Tensor> {
  checkDtype(op, a, 'f32');
  let bLen = 0;
  if (b) {
    checkDtype(op, b, 'f32');
    // b either matches a, or broadcasts over a's leading dims (its shape is a suffix of a's)
    const suffix = a.shape.slice(a.rank - b.rank);
    const same = b.rank <= a.rank && suffix.every((d, i) => d === b.shape[i]);
    checkThat(op, same, `cannot broadcast ${fmtShape(b.shape)} onto ${fmtShape(a.shape)}`);
    bLen = b.size === a.size ? 0 : b.size;
  }
  const y = out ?? rec.gpu.empty(a.shape, 'f32', op);
  checkThat(op, y.size === a.size && y.dtype === 'f32', `output ${fmtShape(y.shape)} ${y.dtype} does not match input ${fmtShape(a.shape)}`);
  const pipe = await rec.gpu.pipeline(op, wgsl('elementwise.wgsl'), { OP: OPS[op], WG });
  rec.dispatch(pipe, params([a.size, { f32: alpha }, bLen, 0]), b ? [a, b, y] : [a, a, y], grid1d(a.size, WG));
  return y;
}

/** y = a (op) b; b may broadcast over a's leading dims (e.g. a bias row). `out` must not alias a or b. */
export const binary = (rec: Recorder, op: BinaryOp, a: Tensor, b: Tensor, out?: Tensor): Promise<Tensor> => run(rec, op, a, b, 0, out);

export const unary = (rec: Recorder, op: UnaryOp, a: Tensor, out?: Tensor): Promise<Tensor> => run(rec, op, a, null, 0, out);

export const add = (rec: Recorder, a: Tensor, b: Tensor, out?: Tensor): Promise<Tensor> => run(rec, 'add', a, b, 0, out);

export const scale = (rec: Recorder, a: Tensor, alpha: number, out?: Tensor): Promise<Tensor> => run(rec, 'scale', a, null, alpha, out);
