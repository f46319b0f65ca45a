// RMSNorm over the last dimension (wgsl/rmsnorm.wgsl): Llama / Qwen2 semantics.
import type { Recorder } from '../recorder.js';
import type { Tensor } from '../tensor.js';
import { params, wgsl } from '../wgsl.js';
import type { NormOptions } from './layernorm.js';
import { chooseVariant, entryPoint, normSetup, rowChunksOf, rowGrid, workgroupSize } from './rowwise.js';

/** y = x / sqrt(mean(x^2) + eps) * weight over the last dimension of x [..., H]. */
export async function rmsnorm(rec: Recorder, x: Tensor, weight: Tensor, eps: number, opts: NormOptions = {}): Promise<Tensor> {
  const [rows, h, y] = normSetup(rec, 'rmsnorm', x, [weight], eps, opts.out);
  const variant = chooseVariant('rmsnorm', rec.gpu, rows, h, 2, opts.variant);
  const pipe = await rec.gpu.pipeline('rmsnorm', wgsl('rmsnorm.wgsl'), { WG: workgroupSize(variant) }, entryPoint(variant));
  const max = opts.maxBindingBytes ?? rec.gpu.maxBinding;
  const ys = rowChunksOf(y, rows, h, max);
  rowChunksOf(x, rows, h, max).forEach((c, i) => {
    rec.dispatch(pipe, params([c.count, h, { f32: eps }, 0]), [c.view, weight, ys[i]!.view], rowGrid(variant, c.count));
  });
  return y;
}
