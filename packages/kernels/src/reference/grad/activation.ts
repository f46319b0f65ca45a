// float64 references of the activation derivatives (forwards in ../elementwise.ts).
import { erf } from '../elementwise.js';

const sigmoid = (x: number): number => 1 / (1 + Math.exp(-x));
const K_TANH = Math.sqrt(2 / Math.PI);

/** d act(x) / dx. */
export const refActDerivative = {
  // 0.5 (1 + erf(x / sqrt 2)) + x phi(x)
  gelu: (x: number) => 0.5 * (1 + erf(x / Math.SQRT2)) + (x * Math.exp(-0.5 * x * x)) / Math.sqrt(2 * Math.PI),
  gelu_tanh: (x: number) => {
    const t = Math.tanh(K_TANH * (x + 0.044715 * x ** 3));
    return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * K_TANH * (1 + 3 * 0.044715 * x * x);
  },
  quick_gelu: (x: number) => {
    const s = sigmoid(1.702 * x);
    return s + 1.702 * x * s * (1 - s);
  },
  silu: (x: number) => {
    const s = sigmoid(x);
    return s * (1 + x * (1 - s));
  },
};

export type ActOp = keyof typeof refActDerivative;

/** dx = dy * act'(x). */
export function refActBackward(op: ActOp, x: ArrayLike<number>, dy: ArrayLike<number>): Float64Array {
  const f = refActDerivative[op];
  return Float64Array.from(x, (v, i) => dy[i]! * f(v));
}

/** SwiGLU y = silu(gate) * up: dgate = dy * up * silu'(gate), dup = dy * silu(gate). */
export function refSiluMulBackward(gate: ArrayLike<number>, up: ArrayLike<number>, dy: ArrayLike<number>): { dgate: Float64Array; dup: Float64Array } {
  const dgate = new Float64Array(gate.length);
  const dup = new Float64Array(gate.length);
  for (let i = 0; i < gate.length; i++) {
    const g = gate[i]!;
    dgate[i] = dy[i]! * up[i]! * refActDerivative.silu(g);
    dup[i] = dy[i]! * g * sigmoid(g);
  }
  return { dgate, dup };
}
