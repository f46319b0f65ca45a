// ShardRunner on a real device with a tiny random checkpoint: its rollout losses equal @mtv/mtv's
// prefix-batched rolloutEvaluator on the same query and masks, its extract sums equal extractShard's,
// and a shard for another model or geometry is refused with the protocol's error code.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeTinyCheckpoint } from '@mtv/model';
import { extractShard, loadDataset, rolloutEvaluator, sampleRound, type Dataset } from '@mtv/mtv';
import { writeDataset } from '@mtv/toy';
import { ImageStore, buildExtractShard, makeContext, parseJobSpec, wireExample, wireFormat, type RolloutsShard } from '@mtv/coordinator';
import { ShardRunner } from '../src/runner.js';

let dir = '';
let runner: ShardRunner;
let data: Dataset;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mtv-runner-'));
  await writeTinyCheckpoint(join(dir, 'model'), { family: 'clip-llama', seed: 2 });
  await writeDataset(join(dir, 'data'), 'task-inference', 12, 4, { subTask: 'colour' });
  data = await loadDataset({ file: join(dir, 'data', 'task-inference.jsonl'), format: 'jsonl' });
  runner = await ShardRunner.load(join(dir, 'model'));
}, 120_000);
afterAll(async () => {
  await runner?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('ShardRunner', () => {
  it('extract sums equal extractShard bit for bit; rollout losses equal rolloutEvaluator', async () => {
    const [L, H, D] = runner.model.headShape;
    const geometry = { layers: L, heads: H, headDim: D };
    const spec = parseJobSpec({
      jobId: 'unit', data: { file: data.file, format: 'jsonl' }, model: { id: 'tiny', hash: runner.modelHash, geometry },
      extract: { seed: 9, shots: 2, rounds: 3, shardSize: 3 }, locate: null, eval: null, out: join(dir, 'x.safetensors'),
    });
    const ctx = makeContext(spec, { data, evalData: data }, null as never, { info: () => {}, warn: () => {} }, () => {});
    const out = await runner.run(await buildExtractShard(ctx, 0, 0, 3));
    expect(out.ok).toBe(true);
    const want = await extractShard(runner.model, data, { seed: 9, shots: 2, r0: 0, r1: 3 });
    if (!out.ok || out.result.kind !== 'extract') throw new Error('no extract result');
    expect(Buffer.from(out.result.sum.buffer).equals(Buffer.from(want.sum.buffer))).toBe(true);

    const means = Float32Array.from(want.means());
    const masks = [new Uint8Array(L * H), new Uint8Array(L * H).fill(1), Uint8Array.from({ length: L * H }, (_, i) => i % 2)];
    const flat = new Uint8Array(masks.length * L * H);
    masks.forEach((m, k) => flat.set(m, k * L * H));
    const q = sampleRound(data.examples, { seed: 1, round: 0, shots: 0 }).query;
    const shard: RolloutsShard = {
      kind: 'rollouts', jobId: 'unit.locate', shardId: 0, modelHash: runner.modelHash, format: wireFormat('jsonl'), geometry, step: 0, purpose: 'train',
      queries: [await wireExample('jsonl', q, 0, new ImageStore())], nMasks: masks.length, masks: flat, means,
    };
    const r = await runner.run(shard);
    if (!r.ok || r.result.kind !== 'rollouts') throw new Error(`rollouts failed: ${JSON.stringify(r)}`);
    const ref = await rolloutEvaluator(runner.model, { format: 'jsonl', means })({ item: q, index: 0, variant: 0 }, masks);
    expect(Array.from(r.result.losses)).toEqual(Array.from(ref));
    expect(r.result.losses.every(Number.isFinite)).toBe(true);

    const wrong = await runner.run({ ...shard, modelHash: 'sha256:someone-else' });
    expect(wrong).toMatchObject({ ok: false, code: 'model-mismatch', retryable: false });
    const bent = await runner.run({ ...shard, geometry: { ...geometry, headDim: D + 1 } });
    expect(bent).toMatchObject({ ok: false, code: 'invalid-shard' });
  }, 120_000);
});
