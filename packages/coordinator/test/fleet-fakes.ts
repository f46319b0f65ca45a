// Test workers that speak the real protocol (WorkerConnection) but replace the model with a
// deterministic function of the rendered prompt, so scheduling, merging, fault handling and resume
// are tested without a device. The "tap" of a prompt is a pseudo-random f32 vector keyed by the
// prompt text and its image bytes: a single-process run computes the same taps from buildPrompt.
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll } from 'vitest';
import { ActivationSums } from '@mtv/mtv';
import {
  CheckpointStore, FleetCoordinator, WorkerConnection, renderWirePrompt,
  type Capabilities, type Geometry, type JobSpec, type JobState, type Logger, type Shard, type ShardResult,
} from '../src/index.js';

export const quiet: Logger = { info: () => {}, warn: () => {} };

export function capture(): Logger & { lines: string[] } {
  const lines: string[] = [];
  return { lines, info: (m) => lines.push(m), warn: (m) => lines.push(m) };
}

/** A deterministic tap [L*H*D] for a prompt (text + image contents). */
export function fakeTap(text: string, images: readonly Uint8Array[], g: Geometry): Float32Array {
  const h = createHash('sha256').update(text);
  for (const b of images) h.update(b);
  let seed = h.digest().readUInt32LE(0);
  const out = new Float32Array(g.layers * g.heads * g.headDim);
  for (let i = 0; i < out.length; i++) {
    seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
    out[i] = (seed / 2 ** 32 - 0.5) * 3.7;
  }
  return out;
}

export function fakeLoss(text: string, mask: Uint8Array): number {
  const h = createHash('sha256').update(text).update(mask).digest();
  return 1 + h.readUInt32LE(0) / 2 ** 32;
}

/** What the fake computes for a shard (the model-free counterpart of ShardRunner). */
export function fakeResult(shard: Shard): ShardResult {
  const g = shard.geometry;
  if (shard.kind === 'extract') {
    const sums = new ActivationSums([g.layers, g.heads, g.headDim]);
    for (const round of shard.rounds) {
      const p = renderWirePrompt(shard.format, round.shots.map((k) => shard.examples[k]!), shard.examples[round.query]!);
      sums.add(fakeTap(p.text, p.images.map((i) => i.bytes), g));
    }
    return {
      kind: 'extract', jobId: shard.jobId, shardId: shard.shardId, elapsedMs: 1, r0: shard.r0, r1: shard.r1, count: sums.count,
      shape: [g.layers, g.heads, g.headDim], sum: Float64Array.from(sums.sum), sumsq: Float64Array.from(sums.sumSq),
    };
  }
  if (shard.kind === 'rollouts') {
    const LH = g.layers * g.heads;
    const losses = new Float64Array(shard.queries.length * shard.nMasks);
    shard.queries.forEach((q, i) => {
      const text = renderWirePrompt(shard.format, [], q).text;
      for (let k = 0; k < shard.nMasks; k++) losses[i * shard.nMasks + k] = fakeLoss(text, shard.masks.subarray(k * LH, (k + 1) * LH));
    });
    return { kind: 'rollouts', jobId: shard.jobId, shardId: shard.shardId, elapsedMs: 1, step: shard.step, nQueries: shard.queries.length, nMasks: shard.nMasks, losses };
  }
  return {
    kind: 'eval', jobId: shard.jobId, shardId: shard.shardId, elapsedMs: 1,
    outputs: shard.items.map((it) => {
      const q = shard.examples[it.query]!;
      // "Knows" the answer in the mtv modes only, so the modes score differently.
      return { exampleId: q.id, text: shard.mode.startsWith('mtv') ? ` ${q.answer}` : ' nothing', tokens: new Int32Array([1]), firstTokenLoss: null };
    }),
  };
}

export type Behaviour = 'ok' | 'hang' | 'duplicate' | 'nan' | 'fail' | 'lie';

export interface FakeWorkerOptions {
  readonly port: number;
  readonly id: string;
  readonly modelHash: string;
  readonly threads?: number;
  /** Delay before answering, ms (may depend on the shard). */
  readonly delay?: (shard: Shard) => number;
  readonly behaviour?: (shard: Shard, nth: number) => Behaviour;
  readonly token?: string;
}

export class FakeWorker {
  readonly conn: WorkerConnection;
  readonly received: Shard[] = [];
  readonly sent: ShardResult[] = [];
  constructor(readonly opts: FakeWorkerOptions) {
    const capabilities: Capabilities = {
      adapter: { vendor: 'fake', architecture: 'none', device: 'fake', description: 'model-free test worker', cpu: true },
      backend: 'none', threads: opts.threads ?? 1, modelHash: opts.modelHash, maxBatch: 32, kinds: ['extract', 'rollouts', 'eval'],
    };
    this.conn = new WorkerConnection({
      url: `ws://127.0.0.1:${opts.port}`, token: opts.token ?? '', workerId: opts.id, capabilities, logger: quiet, backoff: { initialMs: 20, maxMs: 100 },
    });
    this.conn.on('assign', (m) => void this.#onAssign(m.shard));
  }

  start(): Promise<unknown> {
    this.conn.start();
    return this.conn.ready();
  }

  async #onAssign(shard: Shard): Promise<void> {
    const nth = this.received.push(shard);
    const b = this.opts.behaviour?.(shard, nth) ?? 'ok';
    await new Promise((r) => setTimeout(r, this.opts.delay?.(shard) ?? 0));
    if (b === 'hang') return;
    if (b === 'fail') {
      await this.conn.send({ type: 'shard-error', jobId: shard.jobId, shardId: shard.shardId, code: 'internal', message: 'injected failure', retryable: false }).catch(() => {});
      return;
    }
    const result = fakeResult(shard);
    if (b === 'nan' && result.kind === 'extract') result.sum[0] = Number.NaN;
    if (b === 'lie' && result.kind === 'extract') result.sum[0]! *= 2; // finite, well-formed, wrong
    this.sent.push(result);
    await this.conn.send({ type: 'result', result }).catch(() => {});
    if (b === 'duplicate') await this.conn.send({ type: 'result', result }).catch(() => {});
  }

  close(): Promise<void> {
    return this.conn.close();
  }
}

/** A small generic-JSONL dataset on disk; image files hold distinct bytes. */
export async function writeFakeDataset(dir: string, n: number, name = 'train'): Promise<string> {
  await mkdir(join(dir, 'images'), { recursive: true });
  const colours = ['red', 'green', 'blue', 'yellow'];
  const lines: string[] = [];
  for (let i = 0; i < n; i++) {
    const img = `images/${name}-${i}.png`;
    await writeFile(join(dir, img), `image ${name} ${i}`);
    lines.push(JSON.stringify({ id: `${name}-${i}`, image: img, question: 'what color ?', answer: colours[i % colours.length] }));
  }
  const file = join(dir, `${name}.jsonl`);
  await writeFile(file, lines.join('\n') + '\n');
  return file;
}

/** The fake model of the fleet tests. */
export const FAKE_GEOMETRY: Geometry = { layers: 2, heads: 3, headDim: 4 };
export const FAKE_HASH = 'sha256:fake-model';

export interface FleetFixture {
  /** A temporary folder for the file's tests (removed after them) with train.jsonl (40) and test.jsonl (12). */
  readonly dir: string;
  readonly trainFile: string;
  readonly testFile: string;
  /** Run after each test, last first, errors ignored. */
  readonly cleanup: (() => Promise<unknown>)[];
  /** A coordinator on a free port (100 ms heartbeats, 2 misses), closed after the test. */
  coordinator(): Promise<{ c: FleetCoordinator; port: number; log: Logger & { lines: string[] } }>;
  /** A started FakeWorker of the fake model (unless modelHash says otherwise), closed after the test. */
  worker(o: Omit<FakeWorkerOptions, 'modelHash'> & { modelHash?: string }): Promise<FakeWorker>;
}

/** The fleet tests' fixture: registers its beforeAll / afterEach hooks in the calling test file. */
export function useFleetFixture(tmpPrefix: string): FleetFixture {
  const fx = {
    dir: '',
    trainFile: '',
    testFile: '',
    cleanup: [] as (() => Promise<unknown>)[],
    async coordinator() {
      const log = capture();
      const c = new FleetCoordinator({ port: 0, heartbeatMs: 100, heartbeatMisses: 2, logger: log });
      const { port } = await c.start();
      fx.cleanup.push(() => c.close());
      return { c, port, log };
    },
    async worker(o: Omit<FakeWorkerOptions, 'modelHash'> & { modelHash?: string }) {
      const w = new FakeWorker({ modelHash: FAKE_HASH, ...o });
      fx.cleanup.push(() => w.close());
      await w.start();
      return w;
    },
  };
  beforeAll(async () => {
    fx.dir = await mkdtemp(join(tmpdir(), tmpPrefix));
    fx.trainFile = await writeFakeDataset(fx.dir, 40, 'train');
    fx.testFile = await writeFakeDataset(fx.dir, 12, 'test');
    return () => rm(fx.dir, { recursive: true, force: true });
  });
  afterEach(async () => {
    for (const f of fx.cleanup.splice(0).reverse()) await f().catch(() => {});
  });
  return fx;
}

/** Bit-for-bit equality of two float64 arrays. */
export const sameBits = (a: Float64Array, b: Float64Array): boolean => Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));

/**
 * Runs `spec` on coordinator `c` with a checkpoint every merge and stops serving (the "crash", workers
 * reconnect) once the checkpoint in stateDir has merged `shards` shards; returns that checkpoint.
 */
export async function crashAfterShards(c: FleetCoordinator, spec: JobSpec, stateDir: string, shards: number): Promise<JobState> {
  const store = new CheckpointStore<JobState>(stateDir);
  void c.run({ spec, stateDir, checkpointMs: 0, minWorkers: 1 }).catch(() => {});
  let saved: JobState | null = null;
  while (!saved || (saved.extract?.nextShard ?? 0) < shards) {
    await new Promise((res) => setTimeout(res, 10));
    saved = await store.load((v) => v as JobState);
  }
  await c.close({ reconnect: true });
  return saved;
}
