// Issue 11, items 7 and 8, on real processes (node on the built dist files):
//   - `mtv inspect A | head -1`: the reader goes away, the CLI exits 0 without an EPIPE stack trace;
//   - `--on-bad-image skip` skips an undecodable image and a decompression bomb (refused from its header);
//   - `--max-image-pixels` refuses an image over the limit, naming it;
//   - a real file named `..dots.png` inside the data root is not a traversal;
//   - `--workers 0` is refused by `mtv coordinator` and by the `npm start` demo;
//   - SIGTERM exits 143 (worker and coordinator), SIGINT 130.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile, copyFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deflateSync } from 'node:zlib';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { writeTinyCheckpoint } from '@mtv/model';
import { writeDataset } from '@mtv/toy';
import { ROOT, buildDist, coordinatorProc, freePort, workerProc, type Proc } from './fleet-procs.js';

const MTV = join(ROOT, 'packages/coordinator/dist/cli/mtv.js');
const DEMO = join(ROOT, 'apps/worker/dist/demo.js');
let dir = '';
let model = '';
let train = '';
let artifact = '';

const mtv = (...args: string[]) => spawnSync(process.execPath, [MTV, ...args], { cwd: ROOT, encoding: 'utf8', timeout: 90_000 });

/** A valid 1-bit greyscale PNG of w x h black pixels (a few tens of KB for 16000 x 16000). */
function blankPng(w: number, h: number): Buffer {
  const table = Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  const crc = (b: Buffer): number => {
    let c = 0xffffffff;
    for (const x of b) c = table[(c ^ x) & 0xff]! ^ (c >>> 8);
    return (c ^ 0xffffffff) >>> 0;
  };
  const chunk = (type: string, data: Buffer): Buffer => {
    const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const sum = Buffer.alloc(4);
    sum.writeUInt32BE(crc(body));
    return Buffer.concat([len, body, sum]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0);
  ihdr.writeUInt32BE(h, 4);
  ihdr[8] = 1;
  const raw = Buffer.alloc(h * (1 + Math.ceil(w / 8)));
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr), chunk('IDAT', deflateSync(raw, { level: 9 })), chunk('IEND', Buffer.alloc(0))]);
}

/** The train set with its first images replaced: `edits` maps a row index to [new image name, bytes or null to copy the original]. */
async function variant(name: string, edits: Record<number, [string, Buffer | null]>): Promise<string> {
  const rows = (await readFile(train, 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as { image: string });
  for (const [i, [img, bytes]] of Object.entries(edits)) {
    const row = rows[Number(i)]!;
    const dest = join(dir, 'train', 'images', img);
    if (bytes) await writeFile(dest, bytes);
    else await copyFile(join(dir, 'train', row.image), dest);
    row.image = `images/${img}`;
  }
  const file = join(dir, 'train', `${name}.jsonl`);
  await writeFile(file, rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
  return file;
}

const extractArgs = (data: string, out: string, more: string[] = []): string[] =>
  ['extract', '-m', model, '--data', data, '-f', 'jsonl', '--shots', '1', '--rounds', '2', '--shard-size', '2', '-q', '-o', out, ...more];

beforeAll(async () => {
  buildDist();
  dir = await mkdtemp(join(tmpdir(), 'mtv-cli-defects-'));
  model = join(dir, 'model');
  await writeTinyCheckpoint(model, { family: 'clip-llama', seed: 3 });
  await writeDataset(join(dir, 'train'), 'task-inference', 8, 11, { subTask: 'colour' });
  train = join(dir, 'train', 'task-inference.jsonl');
  artifact = join(dir, 'a.safetensors');
  const r = mtv(...extractArgs(train, artifact));
  if (r.status !== 0) throw new Error(`extract failed: ${r.stderr}`);
}, 120_000);
afterAll(() => (dir ? rm(dir, { recursive: true, force: true }) : undefined));

const procs: Proc[] = [];
afterEach(() => {
  for (const p of procs.splice(0)) p.kill('SIGKILL');
});

describe('CLI defects (issue 11 item 8) and the pixel limit on the command line (item 7)', () => {
  it('`mtv inspect A | head -1`: a reader that goes away ends the CLI quietly, exit 0', async () => {
    const child = spawn(process.execPath, [MTV, 'inspect', artifact], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.destroy(); // like `head -1` exiting before the output is written
    let err = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect(err).not.toMatch(/EPIPE|Unhandled 'error' event|\n\s+at /);
    expect(code).toBe(0);
  });

  it('`--on-bad-image skip` skips an undecodable image and a decompression bomb; `fail` stops before any work, naming them', async () => {
    const data = await variant('bad-images', { 0: ['garbage.png', Buffer.from('this is not a png at all')], 1: ['bomb.png', blankPng(16000, 16000)] });
    const out = join(dir, 'skip.safetensors');
    const t0 = Date.now();
    const r = mtv(...extractArgs(data, out, ['--on-bad-image', 'skip']));
    expect(r.stderr).toMatch(/skipped 2 of 8 examples with bad images \(--on-bad-image skip; first: .*garbage\.png: cannot decode: /);
    expect(r.status, r.stderr).toBe(0);
    expect(existsSync(out)).toBe(true);
    expect(Date.now() - t0).toBeLessThan(30_000);
    // 'fail' reads every header at load: the command stops before any work, naming the image.
    const f = mtv(...extractArgs(data, join(dir, 'fail.safetensors')));
    expect(f.status).toBe(1);
    expect(f.stderr).toMatch(/example "[^"]+": image .*garbage\.png: cannot decode: image .*garbage\.png: not a decodable image/);
    await writeFile(join(dir, 'train', 'images', 'garbage.png'), blankPng(30, 30)); // only the bomb is left
    expect(mtv(...extractArgs(data, join(dir, 'fail.safetensors'))).stderr).toMatch(/bomb\.png: cannot decode: .*16000 x 16000 = 256000000 pixels exceeds the limit of 89478485 \(refused before decoding/);
  });

  it('`--max-image-pixels` refuses a larger image before decoding it, naming the image and the flag', async () => {
    const r = mtv(...extractArgs(train, join(dir, 'limit.safetensors'), ['--max-image-pixels', '100']));
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/image .*\.png: \d+ x \d+ = \d+ pixels exceeds the limit of 100 \(refused before decoding, .*--max-image-pixels/);
    expect(mtv(...extractArgs(train, join(dir, 'limit.safetensors'), ['--max-image-pixels', '0'])).stderr).toMatch(/--max-image-pixels.*expected an integer >= 1/);
  });

  it('a real file named `..dots.png` inside the data root is not a traversal', async () => {
    const data = await variant('dots', { 0: ['..dots.png', null] });
    const r = mtv(...extractArgs(data, join(dir, 'dots.safetensors')));
    expect(r.stderr).not.toMatch(/escapes the data root/);
    expect(r.status, r.stderr).toBe(0);
    // ... while ../ still is.
    const esc = join(dir, 'train', 'escape.jsonl');
    const row = JSON.parse((await readFile(train, 'utf8')).split('\n')[0]!) as { image: string };
    await writeFile(esc, `${JSON.stringify({ ...row, image: '../model/config.json' })}\n${(await readFile(train, 'utf8')).split('\n').slice(1).join('\n')}`);
    expect(mtv(...extractArgs(esc, join(dir, 'esc.safetensors'))).stderr).toMatch(/escapes the data root/);
  });

  it('`--workers 0` is refused by the coordinator and by the npm start demo', () => {
    const c = mtv('coordinator', '--port', '0', '--data', train, '--model', model, '--workers', '0', '--state', join(dir, 'w0'), '--out', join(dir, 'w0.safetensors'));
    expect(c.status).toBe(1);
    expect(c.stderr).toMatch(/--workers must be a positive integer, got '0'/);
    const d = spawnSync(process.execPath, [DEMO, '--workers', '0', '--out', join(dir, 'demo0')], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
    expect(d.status).toBe(1);
    expect(d.stderr).toMatch(/--workers must be a positive integer, got '0'/);
    expect(existsSync(join(dir, 'demo0'))).toBe(false);
  });

  it('SIGTERM exits 143 (worker and coordinator); SIGINT 130', async () => {
    const port = await freePort();
    const w = workerProc('sig', ['--connect', `ws://127.0.0.1:${port}`, '--model', model]);
    procs.push(w);
    await w.waitFor(/MTV_WORKER_READY/, 60_000);
    w.kill('SIGTERM');
    expect((await w.exited).code).toBe(143);
    const c = coordinatorProc(['--port', String(port), '--data', train, '--model', model, '--state', join(dir, 'sig'), '--out', join(dir, 'sig.safetensors'), '--no-locate', '--no-eval']);
    procs.push(c);
    await c.waitFor(/MTV_COORDINATOR_LISTENING/);
    c.kill('SIGTERM');
    expect((await c.exited).code).toBe(143);
    const c2 = coordinatorProc(['--port', String(port), '--data', train, '--model', model, '--state', join(dir, 'sig'), '--out', join(dir, 'sig.safetensors'), '--no-locate', '--no-eval', '--resume']);
    procs.push(c2);
    await c2.waitFor(/MTV_COORDINATOR_LISTENING/);
    c2.kill('SIGINT');
    expect((await c2.exited).code).toBe(130);
  }, 120_000);
});
