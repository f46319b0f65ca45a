// WGSL sources live in packages/kernels/wgsl/, one file per op with its variants. Shared helpers
// live in wgsl/common/ and are pulled in by a line `//#include "common/<name>.wgsl"` (path relative
// to wgsl/), expanded by wgsl(): recursively, each file at most once per expansion.
import { readFileSync } from 'node:fs';
import { KernelError } from './errors.js';

const raw = new Map<string, string>();
const expanded = new Map<string, string>();

const INCLUDE = /^[ \t]*\/\/#include[ \t]+"([^"]+)"[ \t]*$/gm;

/**
 * `file`'s text from `read` with each `//#include "<path>"` line replaced by that file's text,
 * recursively; a file already expanded once is left out (so diamond includes and cycles are
 * harmless). A missing include throws a KernelError naming the including file.
 */
export function expandIncludes(file: string, read: (file: string) => string): string {
  const seen = new Set<string>();
  const expand = (f: string, includedBy: string | undefined): string => {
    seen.add(f);
    let text: string;
    try {
      text = read(f);
    } catch (e) {
      const why = e instanceof Error ? e.message : String(e);
      const what = includedBy === undefined ? `wgsl/${f} cannot be read` : `wgsl/${includedBy} includes "${f}", which cannot be read`;
      throw new KernelError('wgsl', `${what} (${why})`);
    }
    return text.replace(INCLUDE, (_line, inc: string) => (seen.has(inc) ? `// (${inc} already included)` : expand(inc, f).trimEnd()));
  };
  return expand(file, undefined);
}

function readWgsl(file: string): string {
  let code = raw.get(file);
  if (code === undefined) {
    code = readFileSync(new URL(`../wgsl/${file}`, import.meta.url), 'utf8');
    raw.set(file, code);
  }
  return code;
}

/**
 * The text of wgsl/<file> with its includes expanded; works from src/ (tests) and from dist/
 * (built code). Each call expands on its own, so two results concatenated by the caller must not
 * include the same common file.
 */
export function wgsl(file: string): string {
  let code = expanded.get(file);
  if (code === undefined) {
    code = expandIncludes(file, readWgsl);
    expanded.set(file, code);
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
