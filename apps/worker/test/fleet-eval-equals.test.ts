// Issue 10 item 2: a fleet eval (the coordinator's runEval, its shards run by a real ShardRunner) equals
// a single-process evaluate() on the same model, data, seed and settings: every mode's accuracy and
// interval, with the same scorer named (VizWiz format, single answers, the reference's defaults).
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeTinyCheckpoint } from '@mtv/model';
import { evaluate, loadDataset, type Dataset } from '@mtv/mtv';
import { writeDataset } from '@mtv/toy';
import { makeContext, parseJobSpec, runEval, type JobContext } from '@mtv/coordinator';
import { ShardRunner } from '../src/runner.js';

let dir = '';
let runner: ShardRunner;
let data: Dataset;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mtv-fleet-eq-'));
  await writeTinyCheckpoint(join(dir, 'model'), { family: 'clip-llama', seed: 2 });
  await writeDataset(join(dir, 'data'), 'task-inference', 10, 4, { subTask: 'colour' });
  const lines = (await readFile(join(dir, 'data', 'task-inference.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as { image: string; question: string; answer: string });
  await writeFile(join(dir, 'data', 'vizwiz.jsonl'), lines.map((l, i) => JSON.stringify({ image: l.image, question: l.question, answer: l.answer, question_id: i })).join('\n') + '\n');
  data = await loadDataset({ file: join(dir, 'data', 'vizwiz.jsonl'), format: 'vizwiz' });
  runner = await ShardRunner.load(join(dir, 'model'));
}, 120_000);
afterAll(async () => {
  await runner?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('fleet eval = single-process eval', () => {
  it('zero-shot and 2-shot ICL on VizWiz-format items: the same summaries and scorer', async () => {
    const [L, H, D] = runner.model.headShape;
    const spec = parseJobSpec({
      jobId: 'eq', data: { file: data.file, format: 'vizwiz' }, model: { id: 'tiny', hash: runner.modelHash, geometry: { layers: L, heads: H, headDim: D } },
      extract: { seed: 5, shots: 2, rounds: 1, shardSize: 1 }, locate: null,
      eval: { seed: 5, n: 6, shots: 2, modes: ['zero-shot', 'icl'], maxNewTokens: 4, shardSize: 4 }, out: join(dir, 'x.safetensors'),
    });
    // A scheduler that runs every shard on the one real runner, in order.
    const scheduler = {
      run: async (tasks: readonly { build: () => Promise<unknown>; accept: (r: never) => Promise<void> }[]) => {
        for (const t of tasks) {
          const out = await runner.run((await t.build()) as never);
          if (!out.ok) throw new Error(`shard failed: ${JSON.stringify(out)}`);
          await t.accept(out.result as never);
        }
      },
    };
    const ctx: JobContext = makeContext(spec, { data, evalData: data }, scheduler as never, { info: () => {}, warn: () => {} }, () => {});
    const fleet = await runEval(ctx, { mtv: null, resume: null, onShard: async () => {} });
    const single = await evaluate(runner.model, data, { modes: ['zero-shot', 'icl'], shots: 2, seed: 5, n: 6, maxNewTokens: 4 });
    expect(fleet.map((s) => ({ mode: s.mode, n: s.n, accuracy: s.accuracy, lower: s.lower, upper: s.upper, scoring: s.scoring })))
      .toEqual(single.summaries.map((s) => ({ mode: s.mode, n: s.n, accuracy: s.accuracy, lower: s.lower, upper: s.upper, scoring: single.scoring })));
    expect(single.scoring.vqaScorer).toBe('lavis');

    // With annotations built from the single-process predictions (k of 10 annotators gave it, k = 1..4 by
    // question), scores are spread over (0, 1]: the fleet, scoring against the same file, must match exactly.
    const annFile = join(dir, 'ann.json');
    const zs = single.records.filter((r) => r.mode === 'zero-shot');
    await writeFile(annFile, JSON.stringify(zs.map((r, i) => ({
      question_id: Number(r.questionId), answers: Array.from({ length: 10 }, (_, k) => ({ answer: k < 1 + (i % 4) ? r.prediction.trim() : 'zzz', answer_id: k + 1 })),
    }))));
    const annSpec = parseJobSpec({ ...spec, eval: { ...spec.eval!, annotations: annFile } });
    const { loadJobData } = await import('@mtv/coordinator');
    const annCtx: JobContext = makeContext(annSpec, await loadJobData(annSpec), scheduler as never, { info: () => {}, warn: () => {} }, () => {});
    const fleetAnn = await runEval(annCtx, { mtv: null, resume: null, onShard: async () => {} });
    const { loadVqaAnnotations } = await import('@mtv/mtv');
    const singleAnn = await evaluate(runner.model, data, { modes: ['zero-shot', 'icl'], shots: 2, seed: 5, n: 6, maxNewTokens: 4, annotations: await loadVqaAnnotations(annFile) });
    expect(singleAnn.summaries[0]!.accuracy).toBeGreaterThan(0);
    expect(fleetAnn.map((s) => [s.mode, s.accuracy, s.lower, s.upper])).toEqual(singleAnn.summaries.map((s) => [s.mode, s.accuracy, s.lower, s.upper]));
  }, 180_000);
});
