// The method end to end on the committed demo model (packages/toy/demo-model), small settings:
// extract + locate on task inference (shape), then zero-shot vs 4-shot ICL vs MTV on held-out queries.
// Everything is seeded, so the accuracies are deterministic; the bounds are the targets
// loosened by the interval width at this n.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Gpu } from '@mtv/kernels';
import { loadModel, type VisionLanguageModel } from '@mtv/model';
import { writeDataset } from '../../toy/src/index.js';
import { evaluate, loadDataset, runMtv, taskVector, type Dataset } from '../src/index.js';

const DEMO = fileURLToPath(new URL('../../toy/demo-model', import.meta.url));
let root: string;
let gpu: Gpu;
let model: VisionLanguageModel;
let train: Dataset;
let test: Dataset;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'mtv-demo-e2e-'));
  await writeDataset(join(root, 'train'), 'task-inference', 200, 3, { format: 'jsonl', subTask: 'shape' });
  await writeDataset(join(root, 'test'), 'task-inference', 80, 4, { format: 'jsonl', subTask: 'shape' });
  train = await loadDataset({ file: join(root, 'train', 'task-inference.jsonl'), format: 'jsonl' });
  test = await loadDataset({ file: join(root, 'test', 'task-inference.jsonl'), format: 'jsonl' });
  gpu = await Gpu.create();
  model = await loadModel(DEMO, { gpu });
});

afterAll(async () => {
  await model?.close();
  gpu?.destroy();
  await rm(root, { recursive: true, force: true });
});

describe('MTV on the demo model', () => {
  it('compresses shots into heads: MTV at zero-shot cost is close to 4-shot ICL and far above zero-shot', async () => {
    const { artifact, result } = await runMtv(model, train, {
      extract: { seed: 1, shots: 4, rounds: 20, shardSize: 5 },
      locate: { seed: 1, steps: 30, reinforceSize: 50, selectionSize: 20, validationSize: 20 },
    });
    expect(result.heads.some((h) => h === 1)).toBe(true);
    const report = await evaluate(model, test, { modes: ['zero-shot', 'icl', 'mtv'], shots: 4, n: 80, seed: 2, train, vector: taskVector(artifact), maxNewTokens: 1 });
    const acc = Object.fromEntries(report.summaries.map((s) => [s.mode, s.accuracy]));
    // accuracy is a fraction or a percentage depending on the metric's report; normalise to percent
    const pct = (v: number): number => (v <= 1 ? v * 100 : v);
    expect(pct(acc['mtv']!)).toBeGreaterThanOrEqual(pct(acc['zero-shot']!) + 40);
    expect(pct(acc['mtv']!)).toBeGreaterThanOrEqual(pct(acc['icl']!) - 10);
  });
});
