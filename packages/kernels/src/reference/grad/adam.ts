// float64 references of the AdamW step and of the global gradient norm.

export interface AdamHyper {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  /** Decoupled weight decay (AdamW): param *= 1 - lr * weightDecay before the Adam update. */
  weightDecay: number;
  /** 1-based step number (bias correction). */
  step: number;
  /** Gradient multiplier (clipping), default 1. */
  gradScale?: number;
}

/** One AdamW step (PyTorch semantics); returns new arrays. */
export function refAdam(param: ArrayLike<number>, grad: ArrayLike<number>, m: ArrayLike<number>, v: ArrayLike<number>, o: AdamHyper): { param: Float64Array; m: Float64Array; v: Float64Array } {
  const p2 = Float64Array.from(param);
  const m2 = Float64Array.from(m);
  const v2 = Float64Array.from(v);
  const bc1 = 1 - o.beta1 ** o.step;
  const bc2 = 1 - o.beta2 ** o.step;
  const gs = o.gradScale ?? 1;
  for (let i = 0; i < p2.length; i++) {
    const g = grad[i]! * gs;
    m2[i] = o.beta1 * m2[i]! + (1 - o.beta1) * g;
    v2[i] = o.beta2 * v2[i]! + (1 - o.beta2) * g * g;
    p2[i] = p2[i]! * (1 - o.lr * o.weightDecay) - (o.lr * (m2[i]! / bc1)) / (Math.sqrt(v2[i]! / bc2) + o.eps);
  }
  return { param: p2, m: m2, v: v2 };
}

/** sum of squares over all tensors. */
export function refSumSquares(tensors: readonly ArrayLike<number>[]): number {
  let s = 0;
  for (const t of tensors) for (let i = 0; i < t.length; i++) s += t[i]! ** 2;
  return s;
}

/** The clip factor min(1, maxNorm / (norm + 1e-6)) (PyTorch clip_grad_norm_). */
export function refClipScale(sumSquares: number, maxNorm: number): number {
  return Math.min(1, maxNorm / (Math.sqrt(sumSquares) + 1e-6));
}
