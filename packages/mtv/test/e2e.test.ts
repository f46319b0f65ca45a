// The whole method on a tiny checkpoint: extract + locate -> artifact on disk -> read back against
// the model -> evaluate with the MTV.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import type { Gpu } from '@mtv/kernels';
import type { VisionLanguageModel } from '@mtv/model';
import { evaluate, readArtifact, runMtv, taskVector, writeArtifact, extract, sumsArtifact, runRecord, extendArtifact, extendSums } from '../src/index.js';
import { closeModelFixture, openModelFixture, type Fixture } from './e2e-fixture.js';

let fx: Fixture;
let gpu: Gpu;
let model: VisionLanguageModel;

beforeAll(async () => {
  ({ fx, gpu, model } = await openModelFixture({ n: 10 }));
});

afterAll(() => closeModelFixture({ fx, gpu, model }));

describe('MTV end to end', () => {
  it('run -> artifact -> readArtifact -> evaluate', async () => {
    const extractOpts = { seed: 3, shots: 2, rounds: 3, shardSize: 2 };
    const { artifact, result } = await runMtv(model, fx.qa, {
      extract: extractOpts,
      locate: { seed: 3, steps: 2, samplesPerStep: 4, validateEvery: 0, finalSamples: 2, reinforceSize: 4, selectionSize: 2 },
    });
    const file = join(fx.root, 'task.mtv.safetensors');
    await writeArtifact(file, artifact);
    const back = await readArtifact(file, { modelHash: await model.hash(), shape: model.headShape });
    expect(Array.from(back.heads!)).toEqual(Array.from(result.heads));
    expect(back.provenance.heads).toBe('located');
    expect(back.provenance.runs).toEqual([{ datasetHash: fx.qa.hash, shots: 2, firstRound: 0, rounds: 3, seed: 3, shardSize: 2 }]);
    expect(back.provenance.notes?.rollouts).toBe('prefix');
    expect(Array.from(back.logits!)).toEqual(Array.from(Float32Array.from(result.state.logits)));
    expect(back.sums.count).toBe(3);
    const report = await evaluate(model, fx.qa, { modes: ['mtv'], n: 2, vector: taskVector(back, file), maxNewTokens: 2 });
    expect(report.summaries[0]!.n).toBe(2);
  });

  it('extending an artifact by whole shards equals extracting all rounds at once', async () => {
    const opts = { seed: 5, shots: 1, shardSize: 2 };
    const first = await extract(model, fx.qa, { ...opts, rounds: 2 });
    const a = await sumsArtifact(model, first, runRecord(fx.qa, { ...opts, rounds: 2 }));
    const more = await extract(model, fx.qa, { ...opts, rounds: 2, firstRound: 2 });
    const grown = extendArtifact(a, more, runRecord(fx.qa, { ...opts, rounds: 2, firstRound: 2 }));
    const fresh = await extendSums(model, fx.qa, first, 2, opts);
    // extendArtifact adds the new run's merged sums (one f64 add of the two-shard totals); with
    // single-shard extensions that is the same merge sequence as a fresh run.
    expect(Array.from(grown.sums.sum)).toEqual(Array.from(fresh.sum));
    expect(grown.sums.count).toBe(4);
  });
});
