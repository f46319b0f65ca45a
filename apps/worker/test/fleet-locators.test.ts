// Issue 14: a fleet job with each locator (the coordinator's runPipeline, its shards run by a real
// ShardRunner through a scheduler of 1, 2 or 3 "workers" whose results arrive last-worker-first)
// writes the artifact a single process writes: the same sums, the same locations and, for stv, the
// same bank of centres and chosen centres, bit for bit.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeTinyCheckpoint } from '@mtv/model';
import { collect, loadDataset, locateHeads, readArtifact, type Dataset, type LocatorKind } from '@mtv/mtv';
import { writeDataset } from '@mtv/toy';
import { parseJobSpec, runPipeline, type Scheduler } from '@mtv/coordinator';
import { ShardRunner } from '../src/runner.js';

let dir = '';
let runner: ShardRunner;
let data: Dataset;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mtv-fleet-loc-'));
  await writeTinyCheckpoint(join(dir, 'model'), { family: 'clip-llama', seed: 2 });
  await writeDataset(join(dir, 'data'), 'task-inference', 14, 4, { subTask: 'shape' });
  data = await loadDataset({ file: join(dir, 'data', 'task-inference.jsonl'), format: 'jsonl' });
  runner = await ShardRunner.load(join(dir, 'model'));
}, 120_000);
afterAll(async () => {
  await runner?.close();
  await rm(dir, { recursive: true, force: true });
});

/** Runs every task on the one real runner; tasks are dealt round-robin to `workers` and answered last worker first. */
function scheduler(workers: number): Scheduler {
  return {
    capacity: workers,
    workers: Array.from({ length: workers }, (_, i) => `w${i}`),
    run: async (tasks: readonly { build: () => Promise<unknown>; accept: (r: never) => unknown }[]) => {
      const order = Array.from({ length: workers }, (_, w) => tasks.filter((_, i) => i % workers === w)).reverse().flat();
      for (const t of order) {
        const out = await runner.run((await t.build()) as never);
        if (!out.ok) throw new Error(`shard failed: ${JSON.stringify(out)}`);
        await t.accept(out.result as never);
      }
    },
  } as unknown as Scheduler;
}

const same = (a: ArrayLike<number>, b: ArrayLike<number>): boolean => a.length === b.length && Array.from(a).every((v, i) => Object.is(v, b[i]));
const LOCATE = { reinforceSize: 4, selectionSize: 2, validationSize: 3, steps: 2, samplesPerStep: 4, validateEvery: 0, finalSamples: 2, lr: 0.1 };

describe('fleet locate = single-process locate', () => {
  for (const [locator, workers] of [['sensitivity', 2], ['stv', 3], ['random', 2], ['reinforce', 2]] as [LocatorKind, number][]) {
    it(`${locator} on ${workers} workers`, async () => {
      const [L, H, D] = runner.model.headShape;
      const extra = locator === 'reinforce' ? {} : { locator, kGrid: [1, 2, 4], ...(locator === 'stv' ? { clusters: 3, stvSteps: 3, stvSamples: 3 } : {}) };
      const spec = parseJobSpec({
        jobId: `loc-${locator}`, data: { file: data.file, format: 'jsonl' }, model: { id: 'tiny', hash: runner.modelHash, geometry: { layers: L, heads: H, headDim: D } },
        extract: { seed: 5, shots: 2, rounds: 5, shardSize: 2 }, locate: { seed: 7, ...LOCATE, ...extra }, eval: null, out: join(dir, `${locator}.safetensors`),
      });
      const fleet = await runPipeline({ spec, scheduler: scheduler(workers), logger: { info: () => {}, warn: () => {} } as never });
      const art = await readArtifact(fleet.artifact);

      const single = await collect(runner.model, data, { seed: 5, shots: 2, rounds: 5, shardSize: 2, bank: locator === 'stv' });
      expect(same(art.sums.sum, single.sums.sum)).toBe(true);
      const r = await locateHeads(runner.model, data, single.sums.means(), single.stats, { seed: 7, ...LOCATE, ...extra });
      expect(Array.from(art.heads!)).toEqual(Array.from(r.heads));
      if (locator === 'reinforce') {
        expect(art.locator ?? null).toBeNull();
        expect(same(fleet.located!.state.logits, r.reinforce!.state.logits)).toBe(true);
        return;
      }
      expect(art.locator!.kind).toBe(locator);
      expect(Array.from(art.locator!.locations)).toEqual(Array.from(r.locations));
      expect(fleet.locatedHeads!.kGrid).toEqual(r.kGrid);
      expect(fleet.locatedHeads!.cost.forwardPasses).toBe(r.cost.forwardPasses);
      if (locator === 'stv') {
        expect(same(art.locator!.bank!.centres, r.bank!.centres)).toBe(true);
        expect(Array.from(art.locator!.bank!.choice)).toEqual(Array.from(r.bank!.choice));
      }
    }, 120_000);
  }

  it('refuses K larger than layers x heads and C larger than the rounds before any shard, naming the value', async () => {
    const [L, H, D] = runner.model.headShape;
    let shards = 0;
    const counting = { capacity: 1, workers: ['w0'], run: async () => void shards++ } as unknown as Scheduler;
    const spec = (locate: Record<string, unknown>) => parseJobSpec({
      jobId: 'bad', data: { file: data.file, format: 'jsonl' }, model: { id: 'tiny', hash: runner.modelHash, geometry: { layers: L, heads: H, headDim: D } },
      extract: { seed: 5, shots: 2, rounds: 5, shardSize: 2 }, locate: { seed: 7, ...LOCATE, ...locate }, eval: null, out: join(dir, 'bad.safetensors'),
    });
    await expect(runPipeline({ spec: spec({ locator: 'sensitivity', k: L * H + 1 }), scheduler: counting, logger: { info: () => {}, warn: () => {} } as never }))
      .rejects.toThrow(`--k = ${L * H + 1} is larger than the model's layers x heads = ${L} x ${H} = ${L * H}`);
    await expect(runPipeline({ spec: spec({ locator: 'stv', clusters: 6 }), scheduler: counting, logger: { info: () => {}, warn: () => {} } as never }))
      .rejects.toThrow('--clusters C = 6 is larger than --rounds = 5');
    expect(shards).toBe(0);
  });

  it('stv with a checkpoint: a resumed finished job returns the same located heads and bank from the saved state', async () => {
    const [L, H, D] = runner.model.headShape;
    const spec = parseJobSpec({
      jobId: 'loc-resume', data: { file: data.file, format: 'jsonl' }, model: { id: 'tiny', hash: runner.modelHash, geometry: { layers: L, heads: H, headDim: D } },
      extract: { seed: 5, shots: 2, rounds: 5, shardSize: 2 }, locate: { seed: 7, ...LOCATE, locator: 'stv', k: 2, clusters: 3, stvSteps: 2, stvSamples: 3 }, eval: null,
      out: join(dir, 'resume.safetensors'),
    });
    const logger = { info: () => {}, warn: () => {} } as never;
    const stateDir = join(dir, 'state-stv');
    const first = await runPipeline({ spec, scheduler: scheduler(2), logger, stateDir });
    let shards = 0;
    const idle = { capacity: 1, workers: ['w0'], run: async () => void shards++ } as unknown as Scheduler;
    const again = await runPipeline({ spec, scheduler: idle, logger, stateDir, resume: true });
    expect(shards).toBe(0);
    expect(again.resumedAt).toBe('done');
    expect(Array.from(again.locatedHeads!.locations)).toEqual(Array.from(first.locatedHeads!.locations));
    expect(same(again.locatedHeads!.bank!.centres, first.locatedHeads!.bank!.centres)).toBe(true);
    expect(Array.from(again.locatedHeads!.bank!.choice)).toEqual(Array.from(first.locatedHeads!.bank!.choice));
    const art = await readArtifact(again.artifact);
    expect(same(art.locator!.bank!.centres, first.locatedHeads!.bank!.centres)).toBe(true);
  }, 120_000);

  it('stv interrupted after extract: resumed from the checkpoint (statistics restored), the same bank and choices', async () => {
    const [L, H, D] = runner.model.headShape;
    const spec = parseJobSpec({
      jobId: 'loc-mid', data: { file: data.file, format: 'jsonl' }, model: { id: 'tiny', hash: runner.modelHash, geometry: { layers: L, heads: H, headDim: D } },
      extract: { seed: 5, shots: 2, rounds: 5, shardSize: 2 }, locate: { seed: 7, ...LOCATE, locator: 'stv', k: 2, clusters: 3, stvSteps: 2, stvSamples: 3 }, eval: null,
      out: join(dir, 'mid.safetensors'),
    });
    const logger = { info: () => {}, warn: () => {} } as never;
    const whole = await runPipeline({ spec, scheduler: scheduler(2), logger });
    const real = scheduler(2);
    // Extract runs; the first rollouts (the locate phase) fail, as a coordinator killed there would stop.
    const dying = { ...real, capacity: 2, workers: ['w0', 'w1'], run: async (tasks: readonly { kind: string }[], o: unknown) => {
      if (tasks.some((t) => t.kind === 'rollouts')) throw new Error('coordinator killed');
      return (real.run as (t: unknown, o: unknown) => Promise<void>)(tasks, o);
    } } as unknown as Scheduler;
    const stateDir = join(dir, 'state-mid');
    await expect(runPipeline({ spec, scheduler: dying, logger, stateDir })).rejects.toThrow('coordinator killed');
    const resumed = await runPipeline({ spec, scheduler: scheduler(3), logger, stateDir, resume: true });
    expect(resumed.resumedAt).toBe('locate');
    expect(same(resumed.locatedHeads!.bank!.centres, whole.locatedHeads!.bank!.centres)).toBe(true);
    expect(Array.from(resumed.locatedHeads!.bank!.choice)).toEqual(Array.from(whole.locatedHeads!.bank!.choice));
    expect(Array.from(resumed.locatedHeads!.locations)).toEqual(Array.from(whole.locatedHeads!.locations));
  }, 120_000);
});
