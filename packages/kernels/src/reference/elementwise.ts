// float64 CPU references for the elementwise ops.

/** erf to double precision (Abramowitz-Stegun 7.1.28 is too coarse; use a series / continued fraction). */
export function erf(x: number): number {
  const ax = Math.abs(x);
  if (ax < 2.5) {
    // Maclaurin series: sum_n (-1)^n x^(2n+1) / (n! (2n+1))
    let term = ax;
    let sum = ax;
    for (let n = 1; n < 200; n++) {
      term *= (-ax * ax) / n;
      const add = term / (2 * n + 1);
      sum += add;
      if (Math.abs(add) < 1e-17) break;
    }
    return Math.sign(x) * (2 / Math.sqrt(Math.PI)) * sum;
  }
  // continued fraction for erfc, converges fast for x >= 2.5
  let f = 0;
  for (let n = 60; n >= 1; n--) f = n / 2 / (ax + f);
  const erfc = Math.exp(-ax * ax) / Math.sqrt(Math.PI) / (ax + f);
  return Math.sign(x) * (1 - erfc);
}

const sigmoid = (x: number): number => 1 / (1 + Math.exp(-x));

export const refOps = {
  add: (a: number, b: number) => a + b,
  mul: (a: number, b: number) => a * b,
  silu_mul: (a: number, b: number) => a * sigmoid(a) * b,
  gelu: (a: number) => 0.5 * a * (1 + erf(a / Math.SQRT2)),
  gelu_tanh: (a: number) => 0.5 * a * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (a + 0.044715 * a ** 3))),
  quick_gelu: (a: number) => a * sigmoid(1.702 * a),
  silu: (a: number) => a * sigmoid(a),
};

/** Elementwise binary with b broadcast over a's leading dims when b is shorter. */
export function refBinary(op: 'add' | 'mul' | 'silu_mul', a: ArrayLike<number>, b: ArrayLike<number>): Float64Array {
  const out = new Float64Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = refOps[op](a[i]!, b[i % b.length]!);
  return out;
}

export function refUnary(op: 'gelu' | 'gelu_tanh' | 'quick_gelu' | 'silu', a: ArrayLike<number>): Float64Array {
  return Float64Array.from(a, (v) => refOps[op](v));
}

export function refScale(a: ArrayLike<number>, alpha: number): Float64Array {
  return Float64Array.from(a, (v) => v * alpha);
}
