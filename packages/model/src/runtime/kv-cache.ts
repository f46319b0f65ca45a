// Per-layer key/value caches [B, Smax, Hkv, D]. `length` entries are valid in every row.
import type { Gpu, Tensor } from '@mtv/kernels';
import type { TextConfig } from '../config/index.js';

export class KvCache {
  length = 0;
  private constructor(
    readonly rows: number,
    readonly capacity: number,
    readonly k: Tensor[],
    readonly v: Tensor[],
  ) {}

  static create(gpu: Gpu, text: TextConfig, rows: number, capacity: number): KvCache {
    const shape = [rows, capacity, text.numKvHeads, text.headDim];
    const k: Tensor[] = [];
    const v: Tensor[] = [];
    for (let l = 0; l < text.numLayers; l++) {
      k.push(gpu.empty(shape, 'f32', `k cache ${l}`));
      v.push(gpu.empty(shape, 'f32', `v cache ${l}`));
    }
    return new KvCache(rows, capacity, k, v);
  }

  get bytes(): number {
    return this.k.reduce((s, t) => s + 2 * t.byteLength, 0);
  }

  /** Returns the buffers to the pool. Call only once no unsubmitted work reads this cache. */
  release(): void {
    for (const t of [...this.k, ...this.v]) t.release();
  }
}
