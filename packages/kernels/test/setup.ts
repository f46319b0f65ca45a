// One Dawn device per test file (one device per process: DESIGN.md section 9).
import { afterAll } from 'vitest';
import { Gpu, compareClose } from '../src/index.js';
import { expect } from 'vitest';

let shared: Promise<Gpu> | null = null;

export function useGpu(): () => Promise<Gpu> {
  afterAll(async () => {
    if (shared) (await shared).destroy();
    shared = null;
  });
  return () => (shared ??= Gpu.create());
}

export function expectClose(got: ArrayLike<number>, ref: ArrayLike<number>, atol: number, rtol = 0): void {
  const r = compareClose(got, ref, atol, rtol);
  expect(r.ok, r.message).toBe(true);
}
