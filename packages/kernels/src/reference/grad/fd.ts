// Central finite differences in float64: the independent check of every analytic backward.

/**
 * d/dx_j of loss(x) for every j, by central differences (loss(x + h e_j) - loss(x - h e_j)) / 2h.
 * Error: O(h^2 f''') truncation plus about eps |loss| / h rounding (~1e-10 at h = 1e-5).
 */
export function numericGrad(x: ArrayLike<number>, loss: (x: Float64Array) => number, h = 1e-5): Float64Array {
  const xs = Float64Array.from(x);
  const g = new Float64Array(xs.length);
  for (let j = 0; j < xs.length; j++) {
    const v = xs[j]!;
    xs[j] = v + h;
    const up = loss(xs);
    xs[j] = v - h;
    const down = loss(xs);
    xs[j] = v;
    g[j] = (up - down) / (2 * h);
  }
  return g;
}

/** sum_i w[i] * y[i]: a scalar loss whose gradient w.r.t. y is w (the "upstream" gradient dY). */
export function dotLoss(y: ArrayLike<number>, w: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < y.length; i++) s += y[i]! * w[i]!;
  return s;
}
