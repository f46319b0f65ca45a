// The evaluation harness: four modes on the same queries, summaries with n and 95% intervals,
// per-format scoring, the shot-scaling sweep and the cross-task grid.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import type { Gpu } from '@mtv/kernels';
import type { VisionLanguageModel } from '@mtv/model';
import { writeDataset } from '../../toy/src/index.js';
import {
  EVAL_MODES, crossTask, evaluate, extract, formatSummaryTable, loadDataset, metricFor, scoreGeneration, shotSweep, zeroShotPrompt,
  type Dataset, type EvalRecord, type TaskVector,
} from '../src/index.js';
import { closeModelFixture, openModelFixture, type Fixture } from './e2e-fixture.js';

let fx: Fixture;
let gpu: Gpu;
let model: VisionLanguageModel;
let twoWay: Dataset;
let vector: TaskVector;

beforeAll(async () => {
  ({ fx, gpu, model } = await openModelFixture({ n: 10 }));
  await writeDataset(join(fx.root, 'tw'), 'two-way', 6, 3, { format: 'jsonl' });
  twoWay = await loadDataset({ file: join(fx.root, 'tw', 'two-way.jsonl'), format: 'jsonl' });
  const [L, H] = model.headShape;
  const means = (await extract(model, fx.qa, { seed: 0, shots: 2, rounds: 2, shardSize: 2 })).means();
  vector = { means, heads: Uint8Array.from({ length: L * H }, (_, i) => (i % 3 === 0 ? 1 : 0)) };
});

afterAll(() => closeModelFixture({ fx, gpu, model }));

describe('scoring', () => {
  it('picks the metric from the format and the item', () => {
    const qa = zeroShotPrompt('jsonl', fx.qa.examples[0]!, 0);
    const tw = zeroShotPrompt('jsonl', twoWay.examples[0]!, 0);
    expect(metricFor('vizwiz', qa)).toBe('vqa');
    expect(metricFor('jsonl', tw)).toBe('option');
    expect(metricFor('jsonl', { ...qa, answers: undefined })).toBe('exact');
    expect(scoreGeneration('option', tw, ` ${tw.answer}\n<image>`)).toBe(1);
    expect(scoreGeneration('exact', { ...qa, answer: 'red' }, ' Red. more')).toBe(1);
    expect(scoreGeneration('vqa', { ...qa, answers: Array(10).fill('red') }, ' red\nwhat ?')).toBe(1);
    expect(scoreGeneration('vqa', { ...qa, answers: Array(10).fill('red') }, ' blue')).toBe(0);
  });
});

describe('evaluate', () => {
  it('runs the four modes on the same queries and summarises with n and a 95% interval', async () => {
    const recs: EvalRecord[] = [];
    const report = await evaluate(model, fx.qa, { modes: EVAL_MODES, shots: 2, n: 3, seed: 1, vector, maxNewTokens: 3, onRecord: (r) => { recs.push(r); } });
    expect(report.records).toEqual(recs);
    expect(recs.length).toBe(12);
    expect(report.summaries.map((s) => s.mode)).toEqual(['zero-shot', 'icl', 'mtv', 'mtv+icl']);
    for (const s of report.summaries) {
      expect(s.n).toBe(3);
      expect(s.metric).toBe('vqa');
      // Wilson when every score of the mode is 0 or 1 (issue 10), else the normal interval of VQA accuracy.
      const modeScores = recs.filter((r) => r.mode === s.mode).map((r) => r.score);
      expect(s.interval).toBe(modeScores.every((x) => x === 0 || x === 1) ? 'wilson' : 'normal');
      expect(s.lower).toBeLessThanOrEqual(s.accuracy);
      expect(s.upper).toBeGreaterThanOrEqual(s.accuracy);
      expect(s.shots).toBe(s.mode === 'icl' || s.mode === 'mtv+icl' ? 2 : 0);
      const mine = recs.filter((r) => r.mode === s.mode);
      expect(s.accuracy).toBeCloseTo(mine.reduce((a, r) => a + r.score, 0) / 3, 12);
    }
    // Same query per index in every mode; ICL prompts are longer than zero-shot ones.
    for (let i = 0; i < 3; i++) {
      const rs = recs.filter((r) => r.index === i);
      expect(new Set(rs.map((r) => r.exampleId)).size).toBe(1);
      const len = (m: string): number => rs.find((r) => r.mode === m)!.promptTokens;
      expect(len('icl')).toBeGreaterThan(len('zero-shot'));
      expect(len('mtv')).toBe(len('zero-shot'));
    }
    const table = formatSummaryTable(report.summaries);
    expect(table.split('\n')).toHaveLength(6);
    expect(table).toMatch(/mtv\+icl\s+2\s+vqa\s+3\s/);
  });

  it('scores 2-way style items by option letter with Wilson intervals', async () => {
    const report = await evaluate(model, twoWay, { modes: ['zero-shot', 'icl'], shots: 1, n: 2, maxNewTokens: 2 });
    expect(report.summaries.map((s) => [s.metric, s.interval, s.n])).toEqual([['option', 'wilson', 2], ['option', 'wilson', 2]]);
  });

  it('refuses mtv modes without a vector, unknown modes and too few shot examples', async () => {
    await expect(evaluate(model, fx.qa, { modes: ['mtv'], n: 1 })).rejects.toThrow(/need a task vector/);
    await expect(evaluate(model, fx.qa, { modes: ['few-shot' as never], n: 1 })).rejects.toThrow(/unknown mode "few-shot"/);
    await expect(evaluate(model, fx.qa, { modes: ['icl'], shots: 10, n: 1 })).rejects.toThrow(/10 shots \+ 1 query need 11 distinct examples/);
  });
});

describe('sweep and cross-task', () => {
  it('grows the means incrementally and evaluates each point', async () => {
    const points = await shotSweep(model, fx.qa, fx.qa, { seed: 0, shots: 2, rounds: [1, 2, 4], shardSize: 1, heads: vector.heads, eval: { n: 2, maxNewTokens: 2 } });
    expect(points.map((p) => [p.rounds, p.shotsCompressed, p.summary.n, p.summary.mode])).toEqual([[1, 2, 2, 'mtv'], [2, 4, 2, 'mtv'], [4, 8, 2, 'mtv']]);
    await expect(shotSweep(model, fx.qa, fx.qa, { seed: 0, shots: 2, rounds: [2, 1], shardSize: 1, heads: vector.heads, eval: { n: 1 } })).rejects.toThrow(/increasing/);
  });

  it('applies task A vectors to task B queries, with zero-shot baselines', async () => {
    const cells = await crossTask(model, [{ name: 'qa', vector, data: fx.qa }, { name: 'tw', vector, data: twoWay }], { n: 1, maxNewTokens: 2 });
    expect(cells.map((c) => `${c.from ?? '-'}>${c.to}`)).toEqual(['->qa', 'qa>qa', 'tw>qa', '->tw', 'qa>tw', 'tw>tw']);
    expect(cells.every((c) => c.summary.n === 1)).toBe(true);
  });
});
