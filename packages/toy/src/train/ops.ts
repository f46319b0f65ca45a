// The trainer's use of @mtv/kernels: nn.Linear forward/backward composed from matmul, gemm and
// colSum, the packed-stream <-> padded-batch row moves for attention, and the step's temporaries.
// Every kernel here lives in @mtv/kernels (tested there against float64 references); this file
// only composes them and tracks what each step allocated so it can be released after its submit.
import { KernelError, colSum, fmtShape, embeddingBackward, gemm, matmul, type Gpu, type Recorder, type Tensor } from '@mtv/kernels';

export class TrainOps {
  /** Tensors the kernels returned while recording the current step; released after its submit. */
  private temps: Tensor[] = [];

  constructor(readonly gpu: Gpu) {}

  /** Records a kernel's output as a step temporary and returns it. */
  keep<T extends Tensor>(t: T): T {
    this.temps.push(t);
    return t;
  }

  /** Hands the step's temporaries to the recorder (released once it is submitted). */
  releaseTemps(rec: Recorder): void {
    rec.releaseAfterSubmit(...this.temps);
    this.temps = [];
  }

  /** y = x·Wᵀ + b for x [M, in], W [out, in]. */
  async linear(rec: Recorder, x: Tensor, w: Tensor, b: Tensor | null): Promise<Tensor> {
    return this.keep(await matmul(rec, x, w, b ? { bias: b } : {}));
  }

  /** Backward of linear: dW += dyᵀ·x, db += Σ dy over rows, and dx = dy·W (returned). */
  async linearBwd(rec: Recorder, x: Tensor, w: Tensor, dy: Tensor, dw: Tensor, db: Tensor | null): Promise<Tensor> {
    await gemm(rec, dy, x, { transA: true, accumulate: dw });
    if (db) await colSum(rec, dy, { accumulate: db });
    return this.keep(await gemm(rec, dy, w));
  }

  /**
   * out[to[i]] = x[i] for rows with to[i] >= 0, every other one of the `rows` output rows zero.
   * This is embeddingBackward with `to` as the ids (a row's gradient lands at its id, unused ids
   * get zero), which makes it the exact move between the packed token stream and padded batches.
   */
  async placeRows(rec: Recorder, x: Tensor, to: Int32Array, rows: number): Promise<Tensor> {
    // x's leading dimensions hold to.length rows (e.g. [B, T, heads, d] for B·T slots)
    const w = x.size / Math.max(1, to.length);
    if (!Number.isInteger(w)) throw new KernelError('TrainOps.placeRows', `x ${fmtShape(x.shape)} does not split into ${to.length} rows`);
    return this.keep(await embeddingBackward(rec, x.reshape([x.size / w, w]), to, rows));
  }
}
