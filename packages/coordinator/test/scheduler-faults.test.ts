// Scheduler faults over real sockets with model-free workers (fleet-fakes.ts), issue 11 items 2 and 3:
// lease deadlines from measured shard times, re-execution of overdue shards while any healthy worker
// remains, results accepted only from lease holders, --verify with quarantine.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { accumulateRounds, buildPrompt, loadDataset, sampleRound, type ActivationSums } from '@mtv/mtv';
import { FleetCoordinator, WorkerConnection, parseJobSpec, verifiedShard, type FleetCoordinatorOptions, type JobSpec } from '../src/index.js';
import { FakeWorker, capture, fakeResult, fakeTap, quiet, writeFakeDataset, type FakeWorkerOptions } from './fleet-fakes.js';

const G = { layers: 2, heads: 3, headDim: 4 };
const HASH = 'sha256:fake-model';
let dir = '';
let trainFile = '';

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mtv-sched-'));
  trainFile = await writeFakeDataset(dir, 30, 'train');
  return () => rm(dir, { recursive: true, force: true });
});

const cleanup: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f().catch(() => {});
});

function spec(name: string, rounds = 24): JobSpec {
  return parseJobSpec({
    jobId: name, data: { file: trainFile, format: 'jsonl' }, model: { id: 'fake', hash: HASH, geometry: G },
    extract: { seed: 7, shots: 2, rounds, shardSize: 2 }, locate: null, eval: null, out: join(dir, `${name}.safetensors`),
  });
}

async function reference(s: JobSpec): Promise<ActivationSums> {
  const data = await loadDataset({ file: s.data.file, format: s.data.format });
  const taps: Float32Array[] = [];
  for (let r = 0; r < s.extract.rounds; r++) {
    const x = sampleRound(data.examples, { seed: s.extract.seed, round: r, shots: s.extract.shots });
    const p = buildPrompt('jsonl', { shots: x.shots, query: x.query, variant: x.variant });
    taps.push(fakeTap(p.text, await Promise.all(p.images.map(async (f) => new Uint8Array(await readFile(f)))), G));
  }
  return accumulateRounds(taps, [G.layers, G.heads, G.headDim], s.extract.shardSize);
}

async function coordinator(opts: Partial<FleetCoordinatorOptions> = {}) {
  const log = capture();
  const c = new FleetCoordinator({ port: 0, heartbeatMs: 100, heartbeatMisses: 3, logger: log, lease: { floorMs: 60, initialMs: 2000 }, ...opts });
  const { port } = await c.start();
  cleanup.push(() => c.close());
  return { c, port, log };
}

async function worker(o: Omit<FakeWorkerOptions, 'modelHash'>): Promise<FakeWorker> {
  const w = new FakeWorker({ modelHash: HASH, ...o });
  cleanup.push(() => w.close());
  await w.start();
  return w;
}

const same = (a: Float64Array, b: Float64Array): boolean => Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));

describe('leases', () => {
  it('two stalled workers and one healthy one: every shard completes, the stalled ones are reported', async () => {
    const s = spec('stall');
    const { c, port, log } = await coordinator();
    const stuck = await Promise.all(['s1', 's2'].map((id) => worker({ port, id, threads: 2, behaviour: () => 'hang' })));
    await worker({ port, id: 'ok', delay: () => 5 });
    const r = await c.run({ spec: s, minWorkers: 3 });
    expect(same(r.sums.sum, (await reference(s)).sum)).toBe(true);
    expect(stuck.every((w) => w.received.length > 0)).toBe(true);
    const sch = c.scheduler(HASH);
    expect(sch.faults.overdue).toBeGreaterThanOrEqual(2);
    expect(sch.faults.reexecuted).toBeGreaterThanOrEqual(2);
    expect(sch.stats.get('s1')!.overdue + sch.stats.get('s2')!.overdue).toBe(sch.faults.overdue);
    expect(sch.stats.get('ok')!.overdue).toBe(0);
    // Stalled workers get nothing new while a lease of theirs is overdue: at most their slots' worth.
    for (const w of stuck) expect(w.received.length).toBeLessThanOrEqual(3);
    expect(log.lines.join('\n')).toMatch(/worker 's[12]' is slow: shard \d+ of job stall\.extract overdue after \d+ ms \(deadline \d+ ms: max\(60 ms, 3 x p95/);
  });

  it('the deadline is the initial one before any measurement, then max(floor, factor x p95)', async () => {
    const { c, port } = await coordinator({ lease: { floorMs: 40, initialMs: 1234, factor: 3 } });
    await worker({ port, id: 'slowish', delay: () => 30 });
    const sch = c.scheduler(HASH);
    expect(sch.leaseMs('extract:d.extract')).toBe(1234);
    await c.run({ spec: spec('d', 8), minWorkers: 1 });
    const ms = sch.leaseMs('extract:d.extract');
    expect(ms).toBeGreaterThanOrEqual(90); // 3 x (>= 30 ms)
    expect(ms).toBeLessThan(1234);
    expect(sch.faults.overdue).toBe(0);
  });
});

describe('lease-checked results', () => {
  it('results for shards a worker never held are refused and counted; the sums are the honest ones', async () => {
    const s = spec('forge');
    const { c, port, log } = await coordinator();
    await worker({ port, id: 'honest', delay: () => 3 });
    // Speaks the protocol with a valid hello and the right model. It never answers its own shards, so
    // once its two slots are full it is given nothing more; then it "completes" every other shard.
    const conn = new WorkerConnection({
      url: `ws://127.0.0.1:${port}`, token: '', workerId: 'forger', logger: quiet,
      capabilities: { adapter: { vendor: 'x', architecture: 'x', device: 'x', description: 'x', cpu: true }, backend: 'none', threads: 1, modelHash: HASH, maxBatch: 1, kinds: ['extract'] },
    });
    cleanup.push(() => conn.close());
    const given = new Set<number>();
    let forged = 0;
    conn.on('assign', (m) => {
      const res = fakeResult(m.shard);
      if (res.kind !== 'extract' || given.add(m.shard.shardId).size > 1) return;
      setTimeout(() => {
        for (let id = 0; id < 12; id++) {
          if (given.has(id)) continue;
          const r0 = id * 2;
          forged++;
          void conn.send({ type: 'result', result: { ...res, shardId: id, r0, r1: r0 + 2, sum: res.sum.map(() => 1e6), sumsq: res.sumsq!.map(() => 1e12) } }).catch(() => {});
        }
      }, 20);
    });
    conn.start();
    const r = await c.run({ spec: s, minWorkers: 2 });
    expect(forged).toBeGreaterThan(0);
    const sch = c.scheduler(HASH);
    expect(sch.faults.unleased).toBeGreaterThan(0);
    expect(sch.stats.get('forger')!.unleased).toBe(sch.faults.unleased);
    expect(log.lines.join('\n')).toMatch(/refusing a result for shard \d+ of job forge\.extract from 'forger': it never held that shard's lease/);
    expect(sch.stats.get('forger')!.shards).toBe(0);
    expect(same(r.sums.sum, (await reference(s)).sum)).toBe(true);
  });
});

describe('--verify', () => {
  it('picks shards by hash(seed, job, shard): reproducible, about the fraction asked', () => {
    const pick = (seed: number) => Array.from({ length: 400 }, (_, i) => verifiedShard({ fraction: 0.25, seed }, 'j.extract', i));
    expect(pick(1)).toEqual(pick(1));
    expect(pick(1)).not.toEqual(pick(2));
    const n = pick(1).filter(Boolean).length;
    expect(n).toBeGreaterThan(60);
    expect(n).toBeLessThan(140);
    expect(verifiedShard({ fraction: 1, seed: 0 }, 'x', 3)).toBe(true);
    expect(verifiedShard({ fraction: 0, seed: 0 }, 'x', 3)).toBe(false);
  });

  it('--verify 1: a lying worker is quarantined, refused on reconnect, and the sums are the honest ones', async () => {
    const s = spec('verify', 16);
    const { c, port, log } = await coordinator({ verify: 1 });
    await worker({ port, id: 'a', delay: () => 3 });
    await worker({ port, id: 'b', delay: () => 3 });
    const liar = await worker({ port, id: 'liar', behaviour: () => 'nan', delay: () => 1 });
    const r = await c.run({ spec: s, minWorkers: 3 });
    expect(same(r.sums.sum, (await reference(s)).sum)).toBe(true);
    const sch = c.scheduler(HASH);
    expect(sch.faults.verified).toBe(8);
    expect(sch.quarantined.has('liar')).toBe(true);
    expect(liar.received.length).toBeGreaterThan(0);
    expect(log.lines.join('\n')).toMatch(/quarantining worker 'liar': its result for shard \d+ of job verify\.extract differs/);
    // It cannot come back under the same id.
    const again = new FakeWorker({ port, id: 'liar', modelHash: HASH });
    cleanup.push(() => again.close());
    await expect(again.start()).rejects.toThrow(/rejected \(refused\): worker 'liar' is quarantined/);
  });

  it('--verify 0.5: a liar caught after one of its unverified results was merged fails the job instead of finishing with it', async () => {
    // Under seed 7, shards 0-2 of taint.extract are not verified and shard 3 is.
    expect([0, 1, 2, 3].map((i) => verifiedShard({ fraction: 0.5, seed: 7 }, 'taint.extract', i))).toEqual([false, false, false, true]);
    const { c, port, log } = await coordinator({ verify: 0.5 });
    await worker({ port, id: 'liar', behaviour: () => 'lie', delay: () => 1 });
    await worker({ port, id: 'a', delay: () => 20 });
    await worker({ port, id: 'b', delay: () => 20 });
    await expect(c.run({ spec: spec('taint'), minWorkers: 3 })).rejects.toThrow(/worker 'liar' was quarantined .* its unverified results for shards [\d, ]+ of job taint\.extract were already taken/);
    expect(c.scheduler(HASH).quarantined.has('liar')).toBe(true);
    expect(log.lines.join('\n')).toMatch(/verify: shard \d+ of job taint\.extract: the results of .*'liar'.* differ/);
  });
});
