// End to end, with real processes on loopback: a coordinator (packages/coordinator/dist/cli/main.js)
// and Dawn worker processes (apps/worker/dist/main.js) on a tiny random checkpoint and a toy dataset.
//   - the distributed means equal a single-process extract() exactly (bit for bit);
//   - kill -9 of one of three workers mid-extract: the job completes with the identical sums;
//   - kill -9 of the coordinator, then --resume: the identical sums;
//   - a bad frame, a wrong token and a version mismatch are refused with reasons while the
//     coordinator keeps serving its worker.
import { mkdtemp, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Packr } from 'msgpackr';
import { WebSocket } from 'ws';
import { loadModel, writeTinyCheckpoint } from '@mtv/model';
import { extract, loadDataset, type ActivationSums } from '@mtv/mtv';
import { writeDataset } from '@mtv/toy';
import { PROTOCOL_VERSION, encodeMessage, type Capabilities } from '@mtv/coordinator';
import { buildDist, coordinatorProc, expectSumsBitIdentical, freePort, workerProc, type Proc } from './fleet-procs.js';

const SEED = 5;
const SHOTS = 2;
const ROUNDS = 16;
const SHARD = 2;
let dir = '';
let model = '';
let train = '';
let reference: ActivationSums;

beforeAll(async () => {
  buildDist();
  dir = await mkdtemp(join(tmpdir(), 'mtv-e2e-'));
  model = join(dir, 'model');
  await writeTinyCheckpoint(model, { family: 'clip-llama', seed: 3 });
  await writeDataset(join(dir, 'train'), 'task-inference', 30, 11, { subTask: 'colour' });
  train = join(dir, 'train', 'task-inference.jsonl');
  // The single-process run: @mtv/mtv's extract() in this process, same seed, shots, rounds and shard size.
  const m = await loadModel(model);
  try {
    const data = await loadDataset({ file: train, format: 'jsonl' });
    reference = await extract(m, data, { seed: SEED, shots: SHOTS, rounds: ROUNDS, shardSize: SHARD });
  } finally {
    await m.close();
  }
}, 120_000);
afterAll(() => (dir ? rm(dir, { recursive: true, force: true }) : undefined));

const procs: Proc[] = [];
afterEach(async () => {
  for (const p of procs.splice(0)) p.kill('SIGKILL');
});

function extractArgs(port: number, name: string, more: string[] = []): string[] {
  return [
    '--port', String(port), '--data', train, '--model', model, '--seed', String(SEED), '--shots', String(SHOTS), '--rounds', String(ROUNDS),
    '--shard-size', String(SHARD), '--no-locate', '--no-eval', '--state', join(dir, name), '--out', join(dir, `${name}.safetensors`),
    '--heartbeat-ms', '500', '--heartbeat-misses', '2', ...more,
  ];
}

function start(p: Proc): Proc {
  procs.push(p);
  return p;
}

async function expectReference(file: string): Promise<void> {
  const a = await expectSumsBitIdentical(file, reference, ROUNDS);
  expect(Array.from(a.sums.means())).toEqual(Array.from(reference.means()));
}

describe('fleet end to end', () => {
  it('two workers: the means equal the single-process run exactly', async () => {
    const port = await freePort();
    const c = start(coordinatorProc(extractArgs(port, 'two', ['--workers', '2'])));
    await c.waitFor(/MTV_COORDINATOR_LISTENING/);
    const url = `ws://127.0.0.1:${port}`;
    const ws = ['w1', 'w2'].map((id) => start(workerProc(id, ['--connect', url, '--model', model])));
    await c.waitFor(/MTV artifact: /, 55_000);
    expect((await c.exited).code).toBe(0);
    await expectReference(join(dir, 'two.safetensors'));
    // Both took part, and both were told to stop when the job was done.
    for (const w of ws) {
      expect(w.lines.some((l) => /shard done: extract/.test(l))).toBe(true);
      expect((await w.exited).code).toBe(0);
    }
  }, 60_000);

  it('kill -9 of one of three workers mid-extract: the job completes with the identical result', async () => {
    const port = await freePort();
    const c = start(coordinatorProc(extractArgs(port, 'kill-worker', ['--workers', '3'])));
    await c.waitFor(/MTV_COORDINATOR_LISTENING/);
    const url = `ws://127.0.0.1:${port}`;
    const [victim] = ['v', 'w2', 'w3'].map((id) => start(workerProc(id, ['--connect', url, '--model', model])));
    await victim!.waitFor(/shard started: extract/);
    victim!.kill('SIGKILL');
    expect((await victim!.exited).signal).toBe('SIGKILL');
    await c.waitFor(/MTV artifact: /, 55_000);
    expect(c.lines.join('\n')).toMatch(/worker 'v' lost .*reassigning shards/);
    await expectReference(join(dir, 'kill-worker.safetensors'));
  }, 60_000);

  it('kill -9 of the coordinator, then --resume: the identical result', async () => {
    const port = await freePort();
    const state = join(dir, 'kill-coord');
    const args = extractArgs(port, 'kill-coord', ['--checkpoint-ms', '0']);
    const c1 = start(coordinatorProc(args));
    await c1.waitFor(/MTV_COORDINATOR_LISTENING/);
    const w = start(workerProc('w', ['--connect', `ws://127.0.0.1:${port}`, '--model', model]));
    await c1.waitFor(/\[extract\] ([6-9]|1[0-4])\/16 rounds/, 45_000);
    c1.kill('SIGKILL');
    await c1.exited;
    expect(existsSync(join(state, 'job-state.msgpack'))).toBe(true);
    const c2 = start(coordinatorProc([...args, '--resume']));
    await c2.waitFor(/resuming job .* \d+ extract shards merged/);
    await c2.waitFor(/MTV artifact: /, 50_000);
    await expectReference(join(dir, 'kill-coord.safetensors'));
    // The worker rode through the restart (reconnected) and stopped when the job was done.
    expect(w.lines.join('\n')).toMatch(/reconnecting in/);
    expect((await w.exited).code).toBe(0);
  }, 60_000);

  it('a bad frame, a wrong token and a version mismatch are refused with reasons; the worker keeps working', async () => {
    const port = await freePort();
    const token = 'e2e-token-0123456789abcdef';
    const c = start(coordinatorProc([...extractArgs(port, 'security'), '--token', token, '--keep-serving']));
    await c.waitFor(/MTV_COORDINATOR_LISTENING/);
    const url = `ws://127.0.0.1:${port}`;
    const good = start(workerProc('good', ['--connect', url, '--model', model, '--token', token]));
    await good.waitFor(/shard started: extract/);

    const caps: Capabilities = {
      adapter: { vendor: 'x', architecture: 'x', device: 'x', description: 'x', cpu: true }, backend: 'none', threads: 1,
      modelHash: 'sha256:x', maxBatch: 1, kinds: ['extract'],
    };
    const attempt = (frame: Uint8Array | string): Promise<{ code: number; reason: string; reject: string | null }> =>
      new Promise((resolve, reject) => {
        const ws = new WebSocket(url);
        let rejectReason: string | null = null;
        ws.on('open', () => ws.send(frame));
        ws.on('message', (d) => {
          const m = new Packr({ moreTypes: true, useRecords: false }).unpack(d as Buffer) as { type: string; reason: string };
          if (m.type === 'reject') rejectReason = m.reason;
        });
        ws.on('close', (code, reason) => resolve({ code, reason: reason.toString(), reject: rejectReason }));
        ws.on('error', reject);
      });
    const garbage = await attempt(Uint8Array.from([0xc1, 0xff, 0x00, 0x13]));
    expect(garbage.code).toBe(4000);
    expect(garbage.reason).toMatch(/not msgpack/);
    const wrongToken = await attempt(encodeMessage({ type: 'hello', token: 'wrong-token-wrong-token', workerId: 'intruder', name: 'x', capabilities: caps }));
    expect([wrongToken.code, wrongToken.reject]).toEqual([4001, 'bad-token']);
    const oldVersion = new Packr({ moreTypes: true, useRecords: false }).pack({ v: PROTOCOL_VERSION + 1, type: 'hello', token, workerId: 'future', name: 'x', capabilities: caps });
    const mismatch = await attempt(oldVersion);
    expect([mismatch.code, mismatch.reject]).toEqual([4002, 'version-mismatch']);
    expect(mismatch.reason).toMatch(/protocol version/);
    // A real worker process with a wrong token stops with the reason instead of retrying forever.
    const bad = start(workerProc('bad', ['--connect', url, '--model', model, '--token', 'not-the-token-at-all']));
    expect((await bad.exited).code).toBe(1);
    expect(bad.lines.join('\n')).toMatch(/rejected by the coordinator \(bad-token\)/);

    await c.waitFor(/MTV artifact: /, 50_000);
    await expectReference(join(dir, 'security.safetensors'));
    const log = c.lines.join('\n');
    expect(log).toMatch(/closing connection .* \(4000\): .*frame of 4 bytes is not msgpack/);
    expect(log).toMatch(/\(4001\): worker 'intruder' presented a wrong token/);
    expect(log).toMatch(/\(4002\): .*'hello' frame has protocol version/);
    expect(good.child.exitCode).toBeNull(); // still connected: the coordinator keeps serving
  }, 60_000);
});
