// GPU tensors: plain data (a buffer, a shape, a dtype). 'f16' is half-precision packed two per
// u32 (element i lives in word i>>1, low half first), read with unpack2x16float so no
// shader-f16 feature is needed.
import { KernelError, fmtShape } from './errors.js';

export type DType = 'f32' | 'f16' | 'i32' | 'u32';

export const numel = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

/** Bytes a tensor of this many elements occupies (f16 packed two per word, rounded up to whole words). */
export function byteSize(dtype: DType, n: number): number {
  return dtype === 'f16' ? Math.ceil(n / 2) * 4 : n * 4;
}

export interface TensorOwner {
  releaseBuffer(buffer: GPUBuffer): void;
}

export class Tensor {
  private released = false;
  constructor(
    readonly buffer: GPUBuffer,
    readonly shape: readonly number[],
    readonly dtype: DType,
    private readonly owner: TensorOwner | null,
    /** Byte offset of element 0 inside buffer (views into a larger buffer, e.g. a KV cache). */
    readonly byteOffset = 0,
  ) {
    for (const d of shape) {
      if (!Number.isInteger(d) || d < 0) throw new KernelError('tensor', `invalid shape ${fmtShape(shape)}`);
    }
  }

  get size(): number {
    return numel(this.shape);
  }

  get byteLength(): number {
    return byteSize(this.dtype, this.size);
  }

  get rank(): number {
    return this.shape.length;
  }

  /** The binding of the whole tensor (bound size is padded to 4 bytes; never 0). */
  binding(): GPUBufferBinding {
    this.assertLive();
    return { buffer: this.buffer, offset: this.byteOffset, size: Math.max(4, this.byteLength) };
  }

  /** A tensor sharing this buffer with a new shape of the same element count. */
  reshape(shape: readonly number[]): Tensor {
    if (numel(shape) !== this.size) {
      throw new KernelError('reshape', `cannot reshape ${fmtShape(this.shape)} to ${fmtShape(shape)}`);
    }
    return new Tensor(this.buffer, shape, this.dtype, null, this.byteOffset);
  }

  /**
   * Rows [start, start+count) along axis 0 as a view. The byte offset must respect the
   * storage-offset alignment; callers that split large tensors use rowChunks(), which does.
   */
  rows(start: number, count: number): Tensor {
    const rowElems = numel(this.shape.slice(1));
    if (start < 0 || count < 0 || start + count > this.shape[0]!) {
      throw new KernelError('rows', `rows [${start}, ${start + count}) out of range for ${fmtShape(this.shape)}`);
    }
    if (this.dtype === 'f16' && (rowElems * start) % 2 !== 0) {
      throw new KernelError('rows', `f16 view must start on an even element (row ${start} of ${fmtShape(this.shape)})`);
    }
    return new Tensor(this.buffer, [count, ...this.shape.slice(1)], this.dtype, null, this.byteOffset + byteSize(this.dtype, rowElems * start));
  }

  /**
   * Split axis 0 into views each at most maxBytes long, each starting at a multiple of
   * `align` bytes: how tensors larger than maxStorageBufferBindingSize are bound.
   */
  rowChunks(maxBytes: number, align = 256): Tensor[] {
    const rowElems = numel(this.shape.slice(1));
    const rowBytes = this.dtype === 'f16' ? rowElems * 2 : rowElems * 4;
    if (rowBytes > maxBytes) throw new KernelError('rowChunks', `one row of ${fmtShape(this.shape)} (${rowBytes} B) exceeds the binding limit ${maxBytes} B`);
    // rows per chunk: a multiple of the smallest row count whose byte length is a multiple of align
    const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));
    const step = align / gcd(rowBytes, align);
    let per = Math.floor(maxBytes / rowBytes);
    per = Math.max(step, per - (per % step));
    if (per * rowBytes > maxBytes) throw new KernelError('rowChunks', `cannot split ${fmtShape(this.shape)} into aligned chunks of ${maxBytes} B`);
    const out: Tensor[] = [];
    for (let s = 0; s < this.shape[0]!; s += per) out.push(this.rows(s, Math.min(per, this.shape[0]! - s)));
    return out;
  }

  /**
   * Returns the buffer to its pool. The tensor must not be used afterwards, and no unsubmitted
   * recorder may still read it (use Recorder.releaseAfterSubmit for intermediates).
   */
  release(): void {
    if (this.released || !this.owner) return;
    this.released = true;
    this.owner.releaseBuffer(this.buffer);
  }

  get isReleased(): boolean {
    return this.released;
  }

  private assertLive(): void {
    if (this.released) throw new KernelError('tensor', `use of a released tensor ${fmtShape(this.shape)} ${this.dtype}`);
  }
}
