// Issue 15: the fleet's shot sweep (spec.eval.sweep) equals @mtv/mtv's single-process shotSweep on the
// same model, data, seed and shard size: the prefix sums bit for bit (round counts off the shard grid,
// shards completed in reverse order) and every point's accuracy and interval. The coordinator's
// runExtractWithStats and runEvalPhase run with their shards on one real ShardRunner.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeTinyCheckpoint } from '@mtv/model';
import { loadDataset, shotSweep, type ActivationSums, type Dataset } from '@mtv/mtv';
import { writeDataset } from '@mtv/toy';
import { extractPlan, makeContext, parseJobSpec, runEvalPhase, runExtractWithStats, type JobContext } from '@mtv/coordinator';
import { ShardRunner } from '../src/runner.js';

let dir = '';
let runner: ShardRunner;
let train: Dataset;
let test: Dataset;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mtv-fleet-sweep-'));
  await writeTinyCheckpoint(join(dir, 'model'), { family: 'clip-llama', seed: 2 });
  await writeDataset(join(dir, 'train'), 'task-inference', 12, 4, { subTask: 'colour' });
  await writeDataset(join(dir, 'test'), 'task-inference', 6, 5, { subTask: 'colour' });
  train = await loadDataset({ file: join(dir, 'train', 'task-inference.jsonl'), format: 'jsonl' });
  test = await loadDataset({ file: join(dir, 'test', 'task-inference.jsonl'), format: 'jsonl' });
  runner = await ShardRunner.load(join(dir, 'model'));
}, 120_000);
afterAll(async () => {
  await runner?.close();
  await rm(dir, { recursive: true, force: true });
});

const bytes = (a: Float64Array): Buffer => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

describe('fleet shot sweep = single-process shotSweep', () => {
  it('prefix sums bit for bit and the same accuracy per point (sweep 2, 8, 14 shots = 1, 4, 7 rounds of 2, shard size 2)', async () => {
    const [L, H, D] = runner.model.headShape;
    const spec = parseJobSpec({
      jobId: 'sweep-eq', data: { file: train.file, format: 'jsonl' }, evalData: { file: test.file, format: 'jsonl' },
      model: { id: 'tiny', hash: runner.modelHash, geometry: { layers: L, heads: H, headDim: D } },
      extract: { seed: 5, shots: 2, rounds: 7, shardSize: 2 }, locate: null,
      eval: { seed: 3, n: 4, shots: 2, modes: ['zero-shot'], maxNewTokens: 2, shardSize: 3, sweep: [2, 8, 14] }, out: join(dir, 'x.safetensors'),
    });
    // Segments [0,1) [1,3) [3,4) [4,6) [6,7): each sweep point ends a segment.
    expect(extractPlan(spec).map((s) => [s.r0, s.r1])).toEqual([[0, 1], [1, 3], [3, 4], [4, 6], [6, 7]]);
    // All shards run first, then their results are accepted in reverse order (the in-order merge buffers them).
    const scheduler = {
      workers: [], capacity: 1,
      run: async (tasks: readonly { build: () => Promise<unknown>; accept: (r: never) => Promise<void> }[]) => {
        const done: { t: (typeof tasks)[number]; r: unknown }[] = [];
        for (const t of tasks) {
          const out = await runner.run((await t.build()) as never);
          if (!out.ok) throw new Error(`shard failed: ${JSON.stringify(out)}`);
          done.push({ t, r: out.result });
        }
        for (const { t, r } of done.reverse()) await t.accept(r as never);
      },
    };
    const ctx: JobContext = makeContext(spec, { data: train, evalData: test }, scheduler as never, { info: () => {}, warn: () => {} }, () => {});
    const { prefixes } = await runExtractWithStats(ctx, { resume: null, onMerged: async () => {} });
    const heads = Uint8Array.from({ length: L * H }, (_, i) => (i % 3 === 0 ? 1 : 0));
    const fleet = await runEvalPhase(ctx, {
      mtv: null, resume: null, onShard: async () => {},
      sweep: prefixes.map((p) => ({ rounds: p.count, shotsCompressed: 2 * p.count, mtv: { heads, means: p.means() } })),
    });

    const single: ActivationSums[] = [];
    const points = await shotSweep(runner.model, train, test, {
      seed: 5, shots: 2, rounds: [1, 4, 7], shardSize: 2, heads, eval: { seed: 3, n: 4, maxNewTokens: 2 },
      onSums: (_r, s) => single.push(s),
    });
    expect(prefixes.map((p) => p.count)).toEqual([1, 4, 7]);
    for (let i = 0; i < 3; i++) {
      expect(bytes(prefixes[i]!.sum).equals(bytes(single[i]!.sum)), `sum of point ${i}`).toBe(true);
      expect(bytes(prefixes[i]!.sumSq).equals(bytes(single[i]!.sumSq)), `sumSq of point ${i}`).toBe(true);
      expect(prefixes[i]!.count).toBe(single[i]!.count);
    }
    expect(fleet.sweep.map((p) => ({ rounds: p.rounds, shots: p.shotsCompressed, n: p.summary.n, a: p.summary.accuracy, lo: p.summary.lower, hi: p.summary.upper })))
      .toEqual(points.map((p) => ({ rounds: p.rounds, shots: p.shotsCompressed, n: p.summary.n, a: p.summary.accuracy, lo: p.summary.lower, hi: p.summary.upper })));
    expect(fleet.summaries.map((s) => s.mode)).toEqual(['zero-shot']);
    expect(fleet.bestIcl).toBeNull();
  }, 240_000);
});
