// float64 reference of the fused softmax cross-entropy forward + backward used for training.

/**
 * For logits [M, V] and targets [M] (-1 = ignored row): loss[m] = logsumexp(row) - row[target]
 * (0 for ignored rows) and dlogits[m, :] = (softmax(row) - onehot(target)) / normalizer
 * (0 rows for ignored ones). normalizer defaults to the number of scored rows, so dlogits is the
 * gradient of the mean loss over scored rows.
 */
export function refCrossEntropyTrain(logits: ArrayLike<number>, targets: ArrayLike<number>, v: number, normalizer?: number): { loss: Float64Array; dlogits: Float64Array } {
  const m = targets.length;
  const count = normalizer ?? Array.from(targets).filter((t) => t >= 0).length;
  const loss = new Float64Array(m);
  const dlogits = new Float64Array(m * v);
  for (let r = 0; r < m; r++) {
    const t = targets[r]!;
    if (t < 0) continue;
    let mx = -Infinity;
    for (let j = 0; j < v; j++) mx = Math.max(mx, logits[r * v + j]!);
    let sum = 0;
    for (let j = 0; j < v; j++) sum += Math.exp(logits[r * v + j]! - mx);
    const lse = mx + Math.log(sum);
    loss[r] = lse - logits[r * v + t]!;
    for (let j = 0; j < v; j++) dlogits[r * v + j] = (Math.exp(logits[r * v + j]! - lse) - (j === t ? 1 : 0)) / count;
  }
  return { loss, dlogits };
}

/** The mean loss over scored rows (what dlogits is the gradient of, with the default normalizer). */
export function refMeanLoss(logits: ArrayLike<number>, targets: ArrayLike<number>, v: number): number {
  const { loss } = refCrossEntropyTrain(logits, targets, v);
  const count = Array.from(targets).filter((t) => t >= 0).length;
  return loss.reduce((a, b) => a + b, 0) / count;
}
