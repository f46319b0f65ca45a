// readJsonFile: the parsed value, or the caller's error with the underlying reason (unreadable / not JSON).
import { describe, expect, it } from 'vitest';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { readJsonFile } from '../src/index.js';
import { useTempDir } from './temp-dir.js';

class CallerError extends Error {}
const fail = (why: string): Error => new CallerError(`x.json: ${why}`);

let dir = '';
useTempDir('mtv-read-json-', (d) => (dir = d));

describe('readJsonFile', () => {
  it('returns the parsed value', async () => {
    const file = join(dir, 'ok.json');
    await writeFile(file, '{"weight_map": {"a": "b.safetensors"}, "n": [1, 2]}');
    expect(await readJsonFile(file, fail)).toEqual({ weight_map: { a: 'b.safetensors' }, n: [1, 2] });
  });

  it('throws the caller\'s error for a missing file, with the read error as the reason', async () => {
    const err = await readJsonFile(join(dir, 'missing.json'), fail).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CallerError);
    expect((err as Error).message).toMatch(/^x\.json: ENOENT: no such file or directory/);
  });

  it('throws the caller\'s error for text that is not JSON, with the parse error as the reason', async () => {
    const file = join(dir, 'bad.json');
    await writeFile(file, '{"a": ');
    const err = await readJsonFile(file, fail).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CallerError);
    expect((err as Error).message).toMatch(/^x\.json: .*JSON/);
  });
});
