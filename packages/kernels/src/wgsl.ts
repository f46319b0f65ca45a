// WGSL sources live in packages/kernels/wgsl/, one file per op with its variants.
import { readFileSync } from 'node:fs';

const cache = new Map<string, string>();

/** The text of wgsl/<file>; works from src/ (tests) and from dist/ (built code). */
export function wgsl(file: string): string {
  let code = cache.get(file);
  if (code === undefined) {
    code = readFileSync(new URL(`../wgsl/${file}`, import.meta.url), 'utf8');
    cache.set(file, code);
  }
  return code;
}

/** Little helper to build a uniform block from u32 / i32 / f32 fields (each 4 bytes, in order). */
export function params(fields: ReadonlyArray<number | { f32: number } | { i32: number }>): Uint32Array {
  const buf = new ArrayBuffer(Math.max(16, Math.ceil((fields.length * 4) / 16) * 16));
  const u = new Uint32Array(buf);
  const f = new Float32Array(buf);
  const i = new Int32Array(buf);
  fields.forEach((v, k) => {
    if (typeof v === 'number') {
      if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new RangeError(`uniform field ${k}: ${v} is not a u32`);
      u[k] = v;
    } else if ('f32' in v) f[k] = v.f32;
    else i[k] = v.i32;
  });
  return u;
}
