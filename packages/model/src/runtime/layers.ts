// Building blocks shared by the vision tower and the decoder: a linear layer and activations.
import { matmul, unary, type Recorder, type Tensor, type UnaryOp } from '@mtv/kernels';
import type { Activation } from '../config/index.js';

export const UNARY_OF: Record<Activation, UnaryOp> = {
  gelu: 'gelu',
  gelu_pytorch_tanh: 'gelu_tanh',
  quick_gelu: 'quick_gelu',
  silu: 'silu',
};

/** y = x·Wᵀ + b, with the intermediate freed after this recorder's submit. */
export async function linear(rec: Recorder, x: Tensor, w: Tensor, b: Tensor | null): Promise<Tensor> {
  const y = await matmul(rec, x, w, b ? { bias: b } : {});
  rec.releaseAfterSubmit(y);
  return y;
}

export async function activation(rec: Recorder, act: Activation, x: Tensor): Promise<Tensor> {
  const y = await unary(rec, UNARY_OF[act], x);
  rec.releaseAfterSubmit(y);
  return y;
}

/** Every intermediate is released after submit: a helper so the layer code stays linear. */
export function temp<T extends Tensor>(rec: Recorder, t: T): T {
  rec.releaseAfterSubmit(t);
  return t;
}
