// LayerNorm over the last dimension (wgsl/layernorm.wgsl): PyTorch semantics, biased variance.
import type { Recorder } from '../recorder.js';
import type { Tensor } from '../tensor.js';
import { params, wgsl } from '../wgsl.js';
import { chooseVariant, entryPoint, normSetup, rowChunksOf, rowGrid, workgroupSize, type RowOptions } from './rowwise.js';

export interface NormOptions extends RowOptions {
  /** Output tensor (same shape as x, f32); must not alias x. */
  out?: Tensor;
  /** Binding limit override (tests only: exercises the chunked path on small tensors). */
  maxBindingBytes?: number;
}

/** y = (x - mean) / sqrt(var + eps) * weight + bias over the last dimension of x [..., H]. */
export async function layernorm(rec: Recorder, x: Tensor, weight: Tensor, bias: Tensor, eps: number, opts: NormOptions = {}): Promise<Tensor> {
  const [rows, h, y] = normSetup(rec, 'layernorm', x, [weight, bias], eps, opts.out);
  const variant = chooseVariant('layernorm', rec.gpu, rows, h, 3, opts.variant);
  const pipe = await rec.gpu.pipeline('layernorm', wgsl('layernorm.wgsl'), { WG: workgroupSize(variant) }, entryPoint(variant));
  const max = opts.maxBindingBytes ?? rec.gpu.maxBinding;
  const ys = rowChunksOf(y, rows, h, max);
  rowChunksOf(x, rows, h, max).forEach((c, i) => {
    rec.dispatch(pipe, params([c.count, h, { f32: eps }, 0]), [c.view, weight, bias, ys[i]!.view], rowGrid(variant, c.count));
  });
  return y;
}
