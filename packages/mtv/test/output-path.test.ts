// Issue 11 item 4: outputs never destroy inputs or work. The shared check (src/io/output-path.ts)
// by realpath, the writability probe before any work, atomic writes, and the mtv CLI refusing
// before it opens a model (no device is needed: every refusal here happens first).
import { mkdir, mkdtemp, readFile, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkOutputs, runMtvCli, withAtomicFile, writeFileAtomic, OutputPathError } from '../src/index.js';
import { checkExtendRuns } from '../src/cli/commands/build.js';
import type { MtvArtifact } from '../src/artifact/types.js';
import { encodeRgbPng } from '../src/bench/png.js';

let dir = '';
let model = '';
let data = '';

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mtv-outpath-'));
  model = join(dir, 'model');
  await mkdir(model);
  await writeFile(join(model, 'config.json'), '{}');
  await writeFile(join(model, 'model.safetensors'), 'weights');
  data = join(dir, 'train.jsonl');
  await writeFile(data, '{"image":"a.png","question":"q","answer":"a"}\n');
});
afterAll(() => rm(dir, { recursive: true, force: true }));

async function cli(...argv: string[]): Promise<{ code: number; err: string }> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let err = '';
  stderr.on('data', (d: Buffer) => { err += d.toString(); });
  const code = await runMtvCli(argv, { stdout, stderr });
  return { code, err };
}

describe('checkOutputs', () => {
  it('refuses an output that is an input file, also through a symlink and a relative path', async () => {
    await expect(checkOutputs([{ flag: '-o', path: data }], [{ flag: '--data', path: data }])).rejects.toThrow(/-o .* is the input --data/);
    const link = join(dir, 'link.jsonl');
    await symlink(data, link);
    await expect(checkOutputs([{ flag: '-o', path: link }], [{ flag: '--data', path: data }])).rejects.toThrow(OutputPathError);
    const rel = join(dir, 'model', '..', 'train.jsonl');
    await expect(checkOutputs([{ flag: '-o', path: rel }], [{ flag: '--data', path: data }])).rejects.toThrow(/refusing to overwrite an input/);
  });

  it('refuses any file inside the model folder, existing or not', async () => {
    await expect(checkOutputs([{ flag: '-o', path: join(model, 'model.safetensors') }], [{ flag: '--model', path: model, dir: true }])).rejects.toThrow(/inside the input directory --model/);
    await expect(checkOutputs([{ flag: '-o', path: join(model, 'sub', 'new.safetensors') }], [{ flag: '--model', path: model, dir: true }])).rejects.toThrow(/inside the input directory/);
  });

  it('refuses two outputs naming one file, an unwritable place and a directory; accepts a fresh path and a replaceable input', async () => {
    const out = join(dir, 'out.safetensors');
    await expect(checkOutputs([{ flag: '--out', path: out }, { flag: '--json', path: out }], [])).rejects.toThrow(/same file as --out/);
    await expect(checkOutputs([{ flag: '-o', path: join(data, 'x.safetensors') }], [])).rejects.toThrow(/cannot create its directory|not writable/);
    await expect(checkOutputs([{ flag: '-o', path: model }], [])).rejects.toThrow(/is a directory/);
    await checkOutputs([{ flag: '-o', path: out }], [{ flag: '--data', path: data }, { flag: '--model', path: model, dir: true }]);
    await checkOutputs([{ flag: '-o', path: data }], [{ flag: '-a', path: data, replaceable: true }]);
    // The probe leaves nothing behind.
    expect((await readdir(dir)).filter((f) => f.includes('.probe-'))).toEqual([]);
  });
});

describe('atomic writes', () => {
  it('a failed write leaves the previous file intact and no temp file', async () => {
    const f = join(dir, 'atomic.txt');
    await writeFileAtomic(f, 'first');
    await expect(withAtomicFile(f, async (tmp) => { await writeFile(tmp, 'half'); throw new Error('disk full'); })).rejects.toThrow(/disk full/);
    expect(await readFile(f, 'utf8')).toBe('first');
    expect((await readdir(dir)).filter((x) => x.includes('.tmp-'))).toEqual([]);
    await writeFileAtomic(f, 'second');
    expect(await readFile(f, 'utf8')).toBe('second');
  });
});

describe('the mtv CLI refuses before any work', () => {
  it('run -o equal to the dataset, or inside the model folder: one line, the dataset untouched', async () => {
    const before = await readFile(data, 'utf8');
    const r = await cli('run', '-m', model, '--data', data, '-f', 'jsonl', '-o', data);
    expect(r.code).not.toBe(0);
    expect(r.err).toMatch(/^mtv: error: -o .*train\.jsonl is the input --data/);
    expect(await readFile(data, 'utf8')).toBe(before);
    const m = await cli('extract', '-m', model, '--data', data, '-f', 'jsonl', '-o', join(model, 'model.safetensors'));
    expect(m.err).toMatch(/inside the input directory --model/);
    expect(await readFile(join(model, 'model.safetensors'), 'utf8')).toBe('weights');
  });

  it('eval --predictions over an input, and an unwritable -o, are refused', async () => {
    const e = await cli('eval', '-m', model, '--data', data, '-f', 'jsonl', '--predictions', data);
    expect(e.err).toMatch(/--predictions .* is the input --data/);
    const w = await cli('run', '-m', model, '--data', data, '-f', 'jsonl', '-o', join(data, 'out.safetensors'));
    expect(w.code).not.toBe(0);
    expect(w.err).toMatch(/-o .*(not writable|cannot create)/);
  });

  it('-o naming one of the dataset\'s images is refused once the dataset is read, before the model', async () => {
    const png = encodeRgbPng(4, 4, new Uint8Array(4 * 4 * 3).fill(128));
    await writeFile(join(dir, 'a.png'), png);
    const r = await cli('run', '-m', model, '--data', data, '-f', 'jsonl', '-o', join(dir, 'a.png'));
    expect(r.code).not.toBe(0);
    expect(r.err).toMatch(/-o .*a\.png is an image of --data/);
    expect(Buffer.compare(await readFile(join(dir, 'a.png')), Buffer.from(png))).toBe(0);
  });

  it('--extend with other shots or another dataset is refused unless --allow-mixed', () => {
    const prev = { provenance: { runs: [{ datasetHash: 'sha256:aaaa', shots: 4, firstRound: 0, rounds: 10, seed: 0, shardSize: 4 }] } } as unknown as MtvArtifact;
    expect(() => checkExtendRuns('a.safetensors', prev, 'sha256:aaaa', 2, false)).toThrow(/4 shots per round there, 2 here.*--allow-mixed/);
    expect(() => checkExtendRuns('a.safetensors', prev, 'sha256:bbbb', 4, false)).toThrow(/dataset .* there, .* here/);
    expect(() => checkExtendRuns('a.safetensors', prev, 'sha256:aaaa', 4, false)).not.toThrow();
    expect(() => checkExtendRuns('a.safetensors', prev, 'sha256:bbbb', 2, true)).not.toThrow();
  });
});
