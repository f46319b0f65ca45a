// A 16-byte f32 tensor per device, bound where a kernel variant declares a binding it never
// reads (a vec4 array binding must be at least 16 bytes long, so an arbitrary tensor may not do).
import type { Gpu } from '../../gpu.js';
import type { Tensor } from '../../tensor.js';
import { unpooledUpload } from '../indices.js';

const dummies = new WeakMap<Gpu, Tensor>();

export function dummyTensor(gpu: Gpu): Tensor {
  let t = dummies.get(gpu);
  if (!t) dummies.set(gpu, (t = unpooledUpload(gpu, new Float32Array(4), 'f32', 'grad dummy binding')));
  return t;
}
