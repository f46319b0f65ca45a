// float64 reference for the per-position cross-entropy of selected logit rows.
import { refLogSumExp } from './softmax.js';

/** loss[k] = logsumexp(logits[rows[k], :]) - logits[rows[k], targets[k]] for logits [M, n]. */
export function refCrossEntropy(logits: ArrayLike<number>, n: number, rows: ArrayLike<number>, targets: ArrayLike<number>): Float64Array {
  const out = new Float64Array(rows.length);
  for (let k = 0; k < rows.length; k++) {
    const r = rows[k]!;
    out[k] = refLogSumExp(logits, n, r) - logits[r * n + targets[k]!]!;
  }
  return out;
}
