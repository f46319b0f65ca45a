#!/usr/bin/env node
// npm run bench -w @mtv/coordinator
//   1. extraction speedup: 2 worker processes vs 1, each held to one llvmpipe thread (LP_NUM_THREADS=1);
//   2. coordinator overhead: 1 worker over the fleet vs the same rounds with @mtv/mtv's extract() in-process;
//   3. coordinator memory for 1,000 and 10,000 shots at a 7B-class head geometry (32 x 32 x 128), with
//      model-free responders: it stays O(layers x heads x headDim), whatever the number of shots.
// Flags: --rounds N (default 40), --model DIR (default: a tiny random checkpoint; a relative path resolves
// against the directory `npm run` was typed in), --pairs N (default 5), --skip-fleet, --skip-memory,
// --quick (tiny sizes, 2 pairs: for the test of the quoted commands; not for the record).
// Method (@mtv/kernels' measure.ts): the three set-ups (in-process, 1 worker, 2 workers) stay up
// side by side; each first runs the exact timed job untimed (so every pipeline variant the timed
// runs use is compiled in every process), then they are timed round-robin, alternating the order,
// and speed-up and overhead are computed pair by pair (median and min–max).
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { exitOnBrokenPipe } from '@mtv/mtv';
import { FleetCoordinator } from '../fleet/index.js';
import { parseJobSpec, type JobSpec } from '../jobs/index.js';
import { silentLogger } from '../net/logger.js';
import { WorkerConnection } from '../net/index.js';
import { readModelInfo } from '../fleet/index.js';
import { exitWhenDone } from '../cli/exit-when-done.js';
import { benchSession, callerPath, fmtStats, pairRatio, roundRobin } from '@mtv/kernels';
import { writeBenchDataset } from './data.js';

// llvmpipe reads this when a device is created: the in-process baseline runs on one thread too.
process.env.LP_NUM_THREADS = '1';
process.env.EGL_PLATFORM ??= 'surfaceless';
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const WORKER_MAIN = fileURLToPath(new URL('../../../../apps/worker/dist/main.js', import.meta.url));
const arg = (name: string, dflt: string): string => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1]! : dflt;
};
const flag = (name: string): boolean => process.argv.includes(`--${name}`);
const out = (s: string): void => void process.stdout.write(`${s}\n`);
const secs = (ms: number): string => `${(ms / 1000).toFixed(2)} s`;

function spec(base: Omit<JobSpec, 'jobId' | 'out' | 'extract' | 'locate' | 'eval'>, jobId: string, dir: string, rounds: number, shots: number, shardSize: number): JobSpec {
  return parseJobSpec({ ...base, jobId, out: join(dir, `${jobId}.safetensors`), extract: { seed: 1, shots, rounds, shardSize }, locate: null, eval: null });
}

function spawnWorker(id: string, url: string, model: string): ChildProcess {
  if (!existsSync(WORKER_MAIN)) throw new Error(`bench: ${WORKER_MAIN} is missing; build first (npx tsc -b apps/worker)`);
  const child = spawn(process.execPath, [WORKER_MAIN, '--connect', url, '--model', model, '--id', id, '--quiet'], {
    stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, LP_NUM_THREADS: '1' },
  });
  child.stderr!.on('data', () => {});
  return child;
}

interface Setup {
  /** One timed extract job: its extract-phase ms. */
  run(): Promise<number>;
  close(): Promise<void>;
}

let jobSeq = 0;

/** A coordinator with `nWorkers` worker processes, kept up across the timed jobs. */
async function fleetSetup(nWorkers: number, base: Parameters<typeof spec>[0], dir: string, model: string, rounds: number, shardSize: number): Promise<Setup> {
  const c = new FleetCoordinator({ port: 0, logger: silentLogger });
  const { port } = await c.start();
  const workers = Array.from({ length: nWorkers }, (_, i) => spawnWorker(`bench-${nWorkers}-${i}`, `ws://127.0.0.1:${port}`, model));
  const close = async (): Promise<void> => {
    await c.close({ reconnect: false });
    for (const w of workers) if (w.exitCode === null) w.kill('SIGTERM');
  };
  const tw = performance.now();
  try {
    // Wait for the fleet with a one-round job; the warm-up proper is the first (untimed) timed job.
    await c.run({ spec: spec(base, `hello${nWorkers}`, dir, nWorkers, 2, 1), minWorkers: nWorkers });
  } catch (e) {
    await close();
    throw e;
  }
  if (flag('verbose')) out(`   (${nWorkers} worker(s): start + load ${secs(performance.now() - tw)})`);
  return {
    run: async () => (await c.run({ spec: spec(base, `timed${nWorkers}-${jobSeq++}`, dir, rounds, 2, shardSize), minWorkers: nWorkers })).timings.extract!,
    close,
  };
}

async function inProcessSetup(model: string, data: string, rounds: number, shardSize: number): Promise<Setup> {
  const { loadModel } = await import('@mtv/model');
  const { extract, loadDataset } = await import('@mtv/mtv');
  const m = await loadModel(model);
  const ds = await loadDataset({ file: data, format: 'jsonl' });
  return {
    run: async () => {
      const t0 = performance.now();
      await extract(m, ds, { seed: 1, shots: 2, rounds, shardSize });
      return performance.now() - t0;
    },
    close: () => m.close(),
  };
}

/** Model-free responders: answer every extract shard at once with zero sums of the right shape. */
function responder(port: number, id: string, hash: string): WorkerConnection {
  const conn = new WorkerConnection({
    url: `ws://127.0.0.1:${port}`, workerId: id, logger: silentLogger,
    capabilities: { adapter: { vendor: 'bench', architecture: '', device: '', description: 'model-free', cpu: true }, backend: 'none', threads: 1, modelHash: hash, maxBatch: 32, kinds: ['extract'] },
  });
  conn.on('assign', ({ shard }) => {
    if (shard.kind !== 'extract') return;
    const g = shard.geometry;
    const n = g.layers * g.heads * g.headDim;
    void conn.send({ type: 'result', result: { kind: 'extract', jobId: shard.jobId, shardId: shard.shardId, elapsedMs: 0, r0: shard.r0, r1: shard.r1, count: shard.r1 - shard.r0, shape: [g.layers, g.heads, g.headDim], sum: new Float64Array(n), sumsq: new Float64Array(n) } });
  });
  return conn.start();
}

async function memory(dir: string, data: string, quick: boolean): Promise<void> {
  const geometry = { layers: 32, heads: 32, headDim: 128 };
  const lhd = geometry.layers * geometry.heads * geometry.headDim;
  const base = { data: { file: data, format: 'jsonl' as const }, model: { id: 'bench-7b-geometry', hash: 'sha256:bench-memory', geometry } };
  const c = new FleetCoordinator({ port: 0, logger: silentLogger });
  const { port } = await c.start();
  const conns = [responder(port, 'm1', base.model.hash), responder(port, 'm2', base.model.hash)];
  out(`\n3. coordinator memory, head geometry ${geometry.layers} x ${geometry.heads} x ${geometry.headDim} (one float64 sums array = ${(lhd * 8 / 2 ** 20).toFixed(1)} MiB), 2 model-free workers, 4 shots/round, 25 rounds/shard`);
  out('   retained = heap + array buffers after a full GC, sampled every 25 ms during the job');
  out('   shots    rounds  shards  result bytes received  retained before  peak retained  growth');
  try {
    for (const shots of quick ? [100, 1_000] : [1_000, 10_000]) {
      const rounds = shots / 4;
      gc();
      const m0 = process.memoryUsage();
      const before = m0.heapUsed + m0.arrayBuffers;
      let peak = before;
      const timer = setInterval(() => {
        gc();
        const m = process.memoryUsage();
        peak = Math.max(peak, m.heapUsed + m.arrayBuffers);
      }, 25);
      await c.run({ spec: spec(base, `mem${shots}`, dir, rounds, 4, 25), minWorkers: 2 });
      clearInterval(timer);
      const mib = (b: number): string => `${(b / 2 ** 20).toFixed(1)} MiB`;
      const received = (rounds / 25) * 2 * lhd * 8;
      out(`   ${String(shots).padEnd(8)} ${String(rounds).padEnd(7)} ${String(rounds / 25).padEnd(7)} ${mib(received).padEnd(22)} ${mib(before).padEnd(16)} ${mib(peak).padEnd(14)} ${mib(peak - before)}`);
    }
  } finally {
    await Promise.all(conns.map((x) => x.close()));
    await c.close();
  }
}

async function main(): Promise<void> {
  const session = benchSession('@mtv/coordinator bench', out);
  const quick = session.quick;
  const dir = await mkdtemp(join(tmpdir(), 'mtv-bench-'));
  try {
    const data = await writeBenchDataset(dir, 60);
    if (!flag('skip-fleet')) {
      let model = arg('model', '') ? callerPath(arg('model', '')) : '';
      if (model && !existsSync(join(model, 'config.json'))) throw new Error(`bench: --model ${arg('model', '')}: no config.json in ${model}`);
      if (!model) {
        const { writeTinyCheckpoint } = await import('@mtv/model');
        model = join(dir, 'model');
        await writeTinyCheckpoint(model, { family: 'clip-llama', seed: 1 });
      }
      const rounds = quick ? 6 : Number(arg('rounds', '40'));
      const pairs = quick ? 2 : Number(arg('pairs', '5'));
      const shardSize = 2;
      const info = await readModelInfo(model);
      const base = { data: { file: data, format: 'jsonl' as const }, model: info };
      out(`model ${info.id} [${info.geometry.layers}, ${info.geometry.heads}, ${info.geometry.headDim}], ${rounds} rounds x 2 shots, ${shardSize} rounds/shard, LP_NUM_THREADS=1 everywhere`);
      const setups: Setup[] = [];
      try {
        const inProc = await inProcessSetup(model, data, rounds, shardSize);
        setups.push(inProc);
        const one = await fleetSetup(1, base, dir, model, rounds, shardSize);
        setups.push(one);
        const two = await fleetSetup(2, base, dir, model, rounds, shardSize);
        setups.push(two);
        out(`method: each set-up runs the timed job once untimed (warm-up: every pipeline variant compiled), then ${pairs} rounds of in-process / 1 worker / 2 workers, order alternating; ratios pair by pair; median [min–max]`);
        const t = await roundRobin({ inProcess: inProc.run, one: one.run, two: two.run }, { warmup: 1, rounds: pairs });
        const speedup = pairRatio(t.two, t.one);
        const overhead = pairRatio(t.inProcess, t.one);
        const pct = { ...overhead, median: 100 * (overhead.median - 1), min: 100 * (overhead.min - 1), max: 100 * (overhead.max - 1) };
        out(`\n1. extraction: 1 worker ${fmtStats(t.one, 0, ' ms')}, 2 workers ${fmtStats(t.two, 0, ' ms')}: speedup ${fmtStats(speedup, 2, 'x')} (target 1.7x to 2.0x on 2 cores)`);
        out(`2. coordinator overhead: in-process extract() ${fmtStats(t.inProcess, 0, ' ms')}, 1 worker over the fleet ${fmtStats(t.one, 0, ' ms')}: ${fmtStats(pct, 1, '%')} (target <= 3%)`);
      } finally {
        for (const x of setups.reverse()) await x.close().catch(() => {});
      }
    }
    if (!flag('skip-memory')) await memory(dir, data, quick);
  } finally {
    await rm(dir, { recursive: true, force: true });
    session.end();
  }
}

exitOnBrokenPipe();
exitWhenDone('bench', main().then(() => 0));
