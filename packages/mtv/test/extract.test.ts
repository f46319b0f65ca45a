// Mean activations with the model: the shard rule (distributed == single process, bit for bit),
// incremental extension, progress, and the bad-input cases.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cp } from 'node:fs/promises';
import { join } from 'node:path';
import type { Gpu } from '@mtv/kernels';
import { loadModel, type VisionLanguageModel } from '@mtv/model';
import { ActivationSums, extract, extractShard, extendSums, mergeShards, shardPlan, type Dataset } from '../src/index.js';
import { closeModelFixture, openModelFixture, poisonTensor, type Fixture } from './e2e-fixture.js';

let fx: Fixture;
let gpu: Gpu;
let model: VisionLanguageModel;

beforeAll(async () => {
  ({ fx, gpu, model } = await openModelFixture({ n: 12 }));
});

afterAll(() => closeModelFixture({ fx, gpu, model }));

/** Bit-for-bit equality of two sums (Object.is distinguishes -0 and compares NaN). */
function expectSameBits(a: ActivationSums, b: ActivationSums): void {
  expect(a.count).toBe(b.count);
  expect(a.shape).toEqual(b.shape);
  const diff = a.sum.findIndex((v, i) => !Object.is(v, b.sum[i]));
  expect(diff, `sum differs at ${diff}: ${a.sum[diff]} vs ${b.sum[diff]}`).toBe(-1);
  const diffSq = a.sumSq.findIndex((v, i) => !Object.is(v, b.sumSq[i]));
  expect(diffSq, `sumSq differs at ${diffSq}`).toBe(-1);
}

describe('extract', () => {
  const base = { seed: 11, shots: 2 };

  it('equals mergeShards of its shards, whatever order they arrive in', async () => {
    const progress: number[] = [];
    const whole = await extract(model, fx.qa, { ...base, rounds: 5, shardSize: 2, onRound: (d) => progress.push(d) });
    expect(progress).toEqual([1, 2, 3, 4, 5]);
    const plan = shardPlan(5, 2);
    expect(plan.map((p) => [p.r0, p.r1])).toEqual([[0, 2], [2, 4], [4, 5]]);
    // As a fleet would: shards computed separately (here in reverse), merged by id.
    const shards = [];
    for (const p of [...plan].reverse()) shards.push({ shardId: p.shardId, sums: await extractShard(model, fx.qa, { ...base, r0: p.r0, r1: p.r1 }) });
    expectSameBits(whole, mergeShards(shards, plan.length));
    expect(whole.count).toBe(5);
    const m = whole.means();
    expect(m.length).toBe(model.headShape.reduce((a, b) => a * b, 1));
    expect(m.every(Number.isFinite)).toBe(true);
    expect(m.some((v) => v !== 0)).toBe(true);
  });

  it('extending by whole shards equals a fresh run of all rounds', async () => {
    const first = await extract(model, fx.qa, { ...base, rounds: 2, shardSize: 2 });
    const grown = await extendSums(model, fx.qa, first, 2, { ...base, shardSize: 2 });
    expect(first.count).toBe(2); // untouched
    expectSameBits(grown, await extract(model, fx.qa, { ...base, rounds: 4, shardSize: 2 }));
  });

  it('different rounds sample different prompts (the sums move)', async () => {
    const a = await extractShard(model, fx.qa, { ...base, r0: 0, r1: 1 });
    const b = await extractShard(model, fx.qa, { ...base, r0: 1, r1: 2 });
    expect(a.sum.some((v, i) => v !== b.sum[i])).toBe(true);
  });

  it('refuses fewer examples than shots + 1, an empty dataset, bad ranges and 2-way shots', async () => {
    const small: Dataset = { ...fx.qa, examples: fx.qa.examples.slice(0, 3) };
    await expect(extract(model, small, { seed: 0, shots: 3, rounds: 1, shardSize: 1 })).rejects.toThrow(/3 shots \+ 1 query need 4 distinct examples, but .* has only 3/);
    await expect(extract(model, { ...fx.qa, examples: [] }, { seed: 0, shots: 0, rounds: 1, shardSize: 1 })).rejects.toThrow(/has no examples/);
    await expect(extractShard(model, fx.qa, { seed: 0, shots: 1, r0: 3, r1: 3 })).rejects.toThrow(/round range \[3, 3\)/);
    await expect(extract(model, fx.qa, { seed: 0, shots: 1, rounds: 0, shardSize: 1 })).rejects.toThrow(/rounds must be a positive integer/);
    await expect(extract(model, { ...fx.qa, format: 'flower' }, { seed: 0, shots: 2, rounds: 1, shardSize: 1 })).rejects.toThrow(/format 'flower' items carry their own pos\/neg examples/);
  });

  it('names the layer and head of non-finite activations', async () => {
    const dir = join(fx.root, 'nan-model');
    await cp(fx.modelDir, dir, { recursive: true });
    // Finite weights that overflow f32 in the attention (NaN weights are refused at load).
    const poisoned = await poisonTensor(dir, /layers\.1\.self_attn\.v_proj\.weight$/, 3e38);
    expect(poisoned).toMatch(/layers\.1/);
    const bad = await loadModel(dir, { gpu, weightDtype: 'f32' });
    try {
      await expect(extract(bad, fx.qa, { seed: 0, shots: 1, rounds: 1, shardSize: 1 })).rejects.toThrow(/round 0 .*non-finite value (NaN|-?Infinity) at layer 1, head 0, dim 0/);
    } finally {
      await bad.close();
    }
  });
});
