// Fault tests of the fleet with real processes on loopback (issue 11, items 2, 3 and 5): a real
// coordinator process (packages/coordinator/dist/cli/main.js), real Dawn worker processes, and
// misbehaving workers that speak the real protocol (WorkerConnection, in this process):
//   - a stalled worker (takes shards, answers heartbeats, never returns a result): its shards are
//     re-executed elsewhere after their lease deadline and it is reported as slow;
//   - a forging worker that sends results for shards it was never given: they are refused and counted;
//   - with --verify 1, a worker that returns wrong numbers for its own shards is quarantined
//     (disconnected, refused) and its shards re-run;
//   - a worker of another model is told so, with both hashes, and exits non-zero;
//   - a bad --data, --eval-data or checkpoint fails the coordinator before it waits for workers;
//   - a worker exits non-zero when the coordinator aborts the job.
// Every job's sums are compared bit for bit with a single-process extract().
import { mkdtemp, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadModel, writeTinyCheckpoint } from '@mtv/model';
import { extract, loadDataset, type ActivationSums } from '@mtv/mtv';
import { writeDataset } from '@mtv/toy';
import { WorkerConnection, readModelInfo, type Capabilities, type ExtractShard, type Logger, type ModelInfo, type ShardResult } from '@mtv/coordinator';
import { buildDist, coordinatorProc, expectSumsBitIdentical, freePort, workerProc, type Proc } from './fleet-procs.js';

const SEED = 3;
const SHOTS = 2;
const ROUNDS = 8;
const SHARD = 2;
const SHARDS = ROUNDS / SHARD;
const JOB = 'faults';
let dir = '';
let model = '';
let otherModel = '';
let train = '';
let info: ModelInfo;
let reference: ActivationSums;

beforeAll(async () => {
  buildDist();
  dir = await mkdtemp(join(tmpdir(), 'mtv-faults-'));
  model = join(dir, 'model');
  otherModel = join(dir, 'other-model');
  await writeTinyCheckpoint(model, { family: 'clip-llama', seed: 3 });
  await writeTinyCheckpoint(otherModel, { family: 'clip-llama', seed: 4 });
  await writeDataset(join(dir, 'train'), 'task-inference', 20, 11, { subTask: 'colour' });
  train = join(dir, 'train', 'task-inference.jsonl');
  info = await readModelInfo(model);
  const m = await loadModel(model);
  try {
    reference = await extract(m, await loadDataset({ file: train, format: 'jsonl' }), { seed: SEED, shots: SHOTS, rounds: ROUNDS, shardSize: SHARD });
  } finally {
    await m.close();
  }
}, 120_000);
afterAll(() => (dir ? rm(dir, { recursive: true, force: true }) : undefined));

const procs: Proc[] = [];
const conns: WorkerConnection[] = [];
afterEach(async () => {
  for (const p of procs.splice(0)) p.kill('SIGKILL');
  for (const c of conns.splice(0)) await c.close().catch(() => {});
});

function start(p: Proc): Proc {
  procs.push(p);
  return p;
}

function args(port: number, name: string, more: string[] = []): string[] {
  return [
    '--port', String(port), '--data', train, '--model', model, '--job-id', JOB, '--seed', String(SEED), '--shots', String(SHOTS),
    '--rounds', String(ROUNDS), '--shard-size', String(SHARD), '--no-locate', '--no-eval', '--state', join(dir, name),
    '--out', join(dir, `${name}.safetensors`), '--heartbeat-ms', '500', '--heartbeat-misses', '2', ...more,
  ];
}

async function expectReference(file: string): Promise<void> {
  await expectSumsBitIdentical(file, reference, ROUNDS);
}

const silent: Logger = { info: () => {}, warn: () => {} };

/** A misbehaving worker speaking the real protocol; `onAssign` decides what it does with each shard. */
function rogue(port: number, id: string, onAssign: (shard: ExtractShard, conn: WorkerConnection) => void): WorkerConnection {
  const capabilities: Capabilities = {
    adapter: { vendor: 'rogue', architecture: 'none', device: 'rogue', description: 'misbehaving test worker', cpu: true },
    backend: 'none', threads: 1, modelHash: info.hash, maxBatch: 1, kinds: ['extract'],
  };
  const conn = new WorkerConnection({ url: `ws://127.0.0.1:${port}`, token: '', workerId: id, capabilities, logger: silent, backoff: { initialMs: 50, maxMs: 200 } });
  conn.on('assign', (m) => {
    if (m.shard.kind === 'extract') onAssign(m.shard, conn);
  });
  conns.push(conn);
  return conn.start();
}

/** A well-formed extract result for shard `shardId` whose every sum is `value` (means of `value`). */
function forged(shardId: number, value: number): ShardResult {
  const g = info.geometry;
  const n = g.layers * g.heads * g.headDim;
  const r0 = shardId * SHARD;
  const count = Math.min(ROUNDS, r0 + SHARD) - r0;
  return {
    kind: 'extract', jobId: `${JOB}.extract`, shardId, elapsedMs: 1, r0, r1: r0 + count, count, shape: [g.layers, g.heads, g.headDim],
    sum: new Float64Array(n).fill(value * count), sumsq: new Float64Array(n).fill(value * value * count),
  };
}

describe('fleet faults, real processes on loopback', () => {
  it('a stalled worker: its shards are re-executed on the healthy worker after the lease deadline, and it is reported', async () => {
    const port = await freePort();
    const c = start(coordinatorProc(args(port, 'stall', ['--workers', '2', '--lease-floor-ms', '300', '--lease-initial-ms', '4000'])));
    await c.waitFor(/MTV_COORDINATOR_LISTENING/);
    const stalled: number[] = [];
    // Connects first, so it is given shards before the healthy worker is even loaded.
    await rogue(port, 'stuck', (shard) => void stalled.push(shard.shardId)).ready();
    start(workerProc('healthy', ['--connect', `ws://127.0.0.1:${port}`, '--model', model]));
    await c.waitFor(/MTV artifact: /, 50_000);
    expect((await c.exited).code).toBe(0);
    expect(stalled.length).toBeGreaterThan(0);
    const log = c.lines.join('\n');
    expect(log).toMatch(/worker 'stuck' is slow: shard \d+ of job faults\.extract overdue after \d+ ms/);
    expect(log).toMatch(/re-executing overdue shard \d+ of job faults\.extract on 'healthy'/);
    expect(log).toMatch(/faults: [1-9]\d* overdue leases .*'stuck': [1-9]\d* overdue/);
    await expectReference(join(dir, 'stall.safetensors'));
  }, 60_000);

  it('a forging worker: results for shards it was never given are refused and counted', async () => {
    const port = await freePort();
    const c = start(coordinatorProc(args(port, 'forge', ['--workers', '2', '--lease-floor-ms', '300', '--lease-initial-ms', '4000'])));
    await c.waitFor(/MTV_COORDINATOR_LISTENING/);
    const given = new Set<number>();
    let sent = 0;
    await rogue(port, 'forger', (shard, conn) => {
      // Holds the token and speaks the protocol: once its slots are full (it never answers, so it is
      // given nothing more), it "completes" every shard it was not given, with means of 1e6.
      if (given.add(shard.shardId).size > 1) return;
      setTimeout(() => {
        for (let s = 0; s < SHARDS; s++) {
          if (given.has(s)) continue;
          sent++;
          void conn.send({ type: 'result', result: forged(s, 1e6) }).catch(() => {});
        }
      }, 300);
    }).ready();
    start(workerProc('honest', ['--connect', `ws://127.0.0.1:${port}`, '--model', model]));
    await c.waitFor(/MTV artifact: /, 50_000);
    expect((await c.exited).code).toBe(0);
    expect(sent).toBeGreaterThan(0);
    const log = c.lines.join('\n');
    expect(log).toMatch(/refusing a result for shard \d+ of job faults\.extract from 'forger': it never held that shard's lease/);
    expect(log).toMatch(/faults: .*[1-9]\d* unleased results refused.*'forger': \d+ overdue, [1-9]\d* unleased/);
    await expectReference(join(dir, 'forge.safetensors'));
  }, 60_000);

  it('--verify 1: a worker returning wrong numbers for its own shards is quarantined and its shards re-run', async () => {
    const port = await freePort();
    const c = start(coordinatorProc(args(port, 'verify', ['--workers', '3', '--verify', '1'])));
    await c.waitFor(/MTV_COORDINATOR_LISTENING/);
    let lied = 0;
    const liar = rogue(port, 'liar', (shard, conn) => {
      lied++;
      void conn.send({ type: 'result', result: forged(shard.shardId, 1e6) }).catch(() => {});
    });
    const stopped = new Promise<string>((resolve) => liar.once('stopped', (i) => resolve(i.reason)));
    const url = `ws://127.0.0.1:${port}`;
    for (const id of ['h1', 'h2']) start(workerProc(id, ['--connect', url, '--model', model]));
    await c.waitFor(/MTV artifact: /, 55_000);
    expect((await c.exited).code).toBe(0);
    expect(lied).toBeGreaterThan(0);
    expect(await stopped).toMatch(/rejected \(refused\): worker 'liar' is quarantined: its result for shard \d+ .* differs from the bit-identical results of 'h[12]' and 'h[12]'/);
    const log = c.lines.join('\n');
    expect(log).toMatch(/verify: shard \d+ of job faults\.extract: the results of .* differ/);
    expect(log).toMatch(/quarantining worker 'liar'/);
    expect(log).toMatch(new RegExp(`faults: .*${SHARDS} shards verified, [1-9]\\d* verify mismatches, 1 workers quarantined`));
    await expectReference(join(dir, 'verify.safetensors'));
  }, 60_000);

  it('a worker of another model is told so with both hashes and exits non-zero', async () => {
    const port = await freePort();
    const c = start(coordinatorProc(args(port, 'model')));
    await c.waitFor(/MTV_COORDINATOR_LISTENING/);
    const w = start(workerProc('wrong', ['--connect', `ws://127.0.0.1:${port}`, '--model', otherModel]));
    const { code } = await w.exited;
    expect(code).toBe(1);
    const other = await readModelInfo(otherModel);
    const text = w.lines.join('\n');
    expect(text).toMatch(/rejected by the coordinator \(refused\): model mismatch/);
    expect(text).toContain(other.hash);
    expect(text).toContain(info.hash);
    expect(c.lines.join('\n')).toMatch(/worker 'wrong' holds model .*, the job needs /);
  }, 60_000);

  it('a worker exits non-zero when the coordinator aborts the job', async () => {
    const port = await freePort();
    // The right model hash with a wrong head geometry: the worker refuses every shard (invalid-shard,
    // not retryable) and the job fails after the worker joined.
    const g = info.geometry;
    const a = args(port, 'abort').filter((x, i, all) => x !== '--model' && all[i - 1] !== '--model');
    const c = start(coordinatorProc([...a, '--model-hash', info.hash, '--geometry', `${g.layers},${g.heads},${g.headDim + 1}`]));
    await c.waitFor(/MTV_COORDINATOR_LISTENING/);
    const w = start(workerProc('w', ['--connect', `ws://127.0.0.1:${port}`, '--model', model]));
    await c.waitFor(/job failed|error:/, 40_000).catch((e: Error) => {
      throw new Error(`${e.message}\nworker:\n${w.tail()}`);
    });
    expect((await c.exited).code).not.toBe(0);
    expect((await w.exited).code, w.tail()).toBe(1);
    expect(w.lines.join('\n')).toMatch(/exiting with status 1: coordinator shut down: job failed: .*invalid-shard/);
  }, 60_000);
});

describe('early checks: the coordinator fails before waiting for workers', () => {
  const failsFast = async (name: string, more: string[], message: RegExp): Promise<void> => {
    const port = await freePort();
    const t0 = Date.now();
    const c = start(coordinatorProc(args(port, name, more)));
    const { code } = await Promise.race([c.exited, new Promise<{ code: number }>((r) => setTimeout(() => r({ code: -999 }), 15_000))]);
    expect(code, c.tail()).toBe(1);
    expect(Date.now() - t0).toBeLessThan(15_000);
    const log = c.lines.join('\n');
    expect(log).toMatch(message);
    expect(log).not.toMatch(/waiting for \d+ worker/);
  };

  it('a --data typo', async () => {
    await failsFast('typo', ['--data', join(dir, 'train', 'no-such.jsonl')], /mtv coordinator: error: .*no-such\.jsonl/);
  }, 30_000);

  it('a bad --eval-data (an annotation naming a missing image)', async () => {
    await mkdir(join(dir, 'bad-eval'), { recursive: true });
    const file = join(dir, 'bad-eval', 'eval.jsonl');
    await writeFile(file, `${JSON.stringify({ id: 'x', image: 'missing.png', question: 'q?', answer: 'a' })}\n`);
    await failsFast('bad-eval', ['--eval-data', file], /mtv coordinator: error: .*missing\.png/);
  }, 30_000);

  it('--verify with a single worker', async () => {
    await failsFast('verify-one', ['--verify', '0.5', '--workers', '1'], /mtv coordinator: error: --verify 0\.5 re-executes shards on a different worker: it needs --workers 2 or more/);
  }, 30_000);

  it('a corrupt checkpoint with --resume', async () => {
    await mkdir(join(dir, 'corrupt'), { recursive: true });
    await writeFile(join(dir, 'corrupt', 'job-state.msgpack'), 'not a checkpoint');
    await failsFast('corrupt', ['--resume'], /mtv coordinator: error: .*job-state\.msgpack/);
  }, 30_000);
});
