// Index arguments (token ids, row numbers, targets) given either as host arrays, validated
// here, or as i32 tensors already on the GPU (validated by the kernels: see each op).
import { checkDtype, checkRank } from '../check.js';
import { KernelError, fmtShape } from '../errors.js';
import type { Gpu } from '../gpu.js';
import type { Recorder } from '../recorder.js';
import { Tensor } from '../tensor.js';

export type Indices = Int32Array | readonly number[] | Tensor;

/**
 * Throws KernelError(kernel, "<noun> 5000 at position 3 is outside <range> [0, 4096)") for the
 * first index outside [0, bound), and on a repeated index when `unique`.
 */
export function checkIndices(kernel: string, noun: string, ids: ArrayLike<number>, bound: number, range: string, unique = false): void {
  const seen = unique ? new Map<number, number>() : null;
  for (let i = 0; i < ids.length; i++) {
    const v = ids[i]!;
    if (!Number.isInteger(v) || v < 0 || v >= bound) throw new KernelError(kernel, `${noun} ${v} at position ${i} is outside ${range} [0, ${bound})`);
    if (seen) {
      const prev = seen.get(v);
      if (prev !== undefined) throw new KernelError(kernel, `${noun} ${v} appears at positions ${prev} and ${i}; duplicates are not allowed`);
      seen.set(v, i);
    }
  }
}

/** The number of indices (host array length or the tensor's element count); a tensor must be i32 [K]. */
export function indexCount(kernel: string, noun: string, ids: Indices): number {
  if (ids instanceof Tensor) {
    checkDtype(kernel, ids, 'i32');
    checkRank(kernel, ids, 1);
    return ids.shape[0]!;
  }
  return ids.length;
}

/**
 * The indices as an i32 [K] tensor. Host arrays are checked (range, optionally uniqueness) and
 * uploaded into a buffer of their own that is not pooled: an upload is written to the queue at
 * once, so a pooled buffer released before this recorder's submit could be refilled by another
 * upload first. Dawn frees it once it is unreferenced and the GPU is done with it.
 */
export function indexTensor(rec: Recorder, kernel: string, noun: string, ids: Indices, bound: number, range: string, unique = false): Tensor {
  if (ids instanceof Tensor) {
    indexCount(kernel, noun, ids);
    return ids;
  }
  checkIndices(kernel, noun, ids, bound, range, unique);
  return unpooledUpload(rec.gpu, ids instanceof Int32Array ? ids : Int32Array.from(ids), 'i32', `${kernel} ${noun}s`);
}

/** A 1-D tensor of host data in a buffer of its own, outside the pool (see indexTensor). */
export function unpooledUpload(gpu: Gpu, data: Int32Array | Float32Array, dtype: 'i32' | 'f32', label: string): Tensor {
  const buffer = gpu.device.createBuffer({ size: Math.max(16, data.byteLength), usage: 0x80 /* STORAGE */ | 0x08 /* COPY_DST */, label: `${label} ${fmtShape([data.length])}` });
  if (data.byteLength > 0) gpu.device.queue.writeBuffer(buffer, 0, data.buffer, data.byteOffset, data.byteLength);
  return new Tensor(buffer, [data.length], dtype, null);
}
