// Shape and dtype guards shared by every op: errors name the kernel and the shapes.
import { KernelError, fmtShape } from './errors.js';
import type { DType, Tensor } from './tensor.js';

export function checkDtype(kernel: string, t: Tensor, ...allowed: DType[]): void {
  if (!allowed.includes(t.dtype)) {
    throw new KernelError(kernel, `tensor ${fmtShape(t.shape)} has dtype ${t.dtype}; expected ${allowed.join(' or ')}`);
  }
}

export function checkRank(kernel: string, t: Tensor, ...ranks: number[]): void {
  if (!ranks.includes(t.rank)) {
    throw new KernelError(kernel, `tensor ${fmtShape(t.shape)} has rank ${t.rank}; expected rank ${ranks.join(' or ')}`);
  }
}

export function checkShape(kernel: string, what: string, t: Tensor, expected: readonly number[]): void {
  if (t.shape.length !== expected.length || t.shape.some((d, i) => d !== expected[i])) {
    throw new KernelError(kernel, `${what} has shape ${fmtShape(t.shape)}; expected ${fmtShape(expected)}`);
  }
}

export function checkSameShape(kernel: string, a: Tensor, b: Tensor): void {
  checkShape(kernel, 'second operand', b, a.shape);
}

export function checkThat(kernel: string, ok: boolean, message: string): void {
  if (!ok) throw new KernelError(kernel, message);
}
