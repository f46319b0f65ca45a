import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { KernelError } from '../src/index.js';
import { expandIncludes, wgsl } from '../src/wgsl.js';

function reader(files: Record<string, string>): (f: string) => string {
  return (f) => {
    const t = files[f];
    if (t === undefined) throw new Error(`ENOENT ${f}`);
    return t;
  };
}

describe('wgsl includes', () => {
  it('expands includes recursively, each file once', () => {
    const read = reader({
      'op.wgsl': 'A\n//#include "common/x.wgsl"\n  //#include "common/y.wgsl"\nB\n',
      'common/x.wgsl': 'X1\n//#include "common/y.wgsl"\n',
      'common/y.wgsl': 'Y\n//#include "op.wgsl"\n',
    });
    const out = expandIncludes('op.wgsl', read).split('\n');
    expect(out.filter((l) => l === 'Y')).toHaveLength(1);
    expect(out.filter((l) => l === 'A')).toHaveLength(1);
    expect(out.indexOf('X1')).toBeLessThan(out.indexOf('Y'));
    expect(out.indexOf('Y')).toBeLessThan(out.indexOf('B'));
    expect(out.some((l) => l.includes('//#include'))).toBe(false);
  });

  it('names the including file when an include is missing', () => {
    const read = reader({ 'op.wgsl': '//#include "common/a.wgsl"\n', 'common/a.wgsl': '//#include "common/nope.wgsl"\n' });
    expect(() => expandIncludes('op.wgsl', read)).toThrow(KernelError);
    expect(() => expandIncludes('op.wgsl', read)).toThrow('wgsl/common/a.wgsl includes "common/nope.wgsl"');
  });

  it('leaves no include line in any kernel file', () => {
    const root = new URL('../wgsl/', import.meta.url);
    const files = readdirSync(root, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.wgsl') && !f.startsWith('common'));
    expect(files.length).toBeGreaterThan(10);
    for (const f of files) expect(wgsl(f), f).not.toMatch(/^\s*\/\/#include/m);
    expect(wgsl('softmax.wgsl')).toContain('fn reduce_max(');
    expect(wgsl('grad/act.wgsl')).toContain('fn erf_approx(');
  });
});
