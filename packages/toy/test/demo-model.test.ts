// The committed demo checkpoint loads through @mtv/model's normal path (openCheckpoint +
// VisionLanguageModel.load), agrees with the trainer's own forward, and learns in context: on held-out
// task-inference queries 4-shot accuracy beats 0-shot, and on two-way queries 2-shot beats 0-shot.
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Gpu } from '@mtv/kernels';
import { loadModel, type VisionLanguageModel, expectedTensors, openCheckpoint } from '@mtv/model';
import { iclCurve, iclItems } from '../src/eval/icl.js';
import { runtimePredictor, sessionFromCheckpoint } from '../src/eval/predictors.js';
import { promptOnly, tokeniseEpisode } from '../src/train/data.js';

const DIR = process.env.MTV_DEMO_MODEL ?? fileURLToPath(new URL('../demo-model', import.meta.url));

let gpu: Gpu;
let model: VisionLanguageModel;
beforeAll(async () => {
  gpu = await Gpu.create();
  model = await loadModel(DIR, { gpu, weightDtype: 'f32' });
});
afterAll(async () => {
  await model?.close();
  gpu?.destroy();
});

describe('demo model', () => {
  it('is a complete LLaVA checkpoint', async () => {
    const ckpt = await openCheckpoint(DIR);
    try {
      for (const t of expectedTensors(ckpt.config)) if (t.required) expect(ckpt.has(t.name), t.name).toBe(true);
      expect(ckpt.config.imageSeqLength).toBe(4);
      expect(ckpt.config.vision.modelType).toBe('clip_vision_model');
    } finally {
      await ckpt.close();
    }
  });

  it('gives the same logits through the runtime as through the training forward', async () => {
    const session = await sessionFromCheckpoint(DIR, gpu);
    const [item] = iclItems('two-way', 2, 1, 123);
    const p = await model.prepare({ text: item!.prompt.prompt, images: item!.prompt.images.map((im) => ({ ...im, source: 'test' })) });
    const seq = promptOnly(tokeniseEpisode(item!.episode, session.config.imageSeqLength));
    expect(Array.from(p.ids)).toEqual(seq.ids);
    const { logits } = await model.forward(p);
    const batch = session.pack([seq]);
    const rec = gpu.recorder('demo-test');
    const tape = await session.trainer.forward(rec, batch);
    const read = rec.read(tape.logits);
    session.ops.releaseTemps(rec);
    await rec.submit();
    const mine = (await read) as Float32Array;
    let worst = 0;
    for (let v = 0; v < logits.length; v++) worst = Math.max(worst, Math.abs(logits[v]! - mine[v]!));
    // two f32 implementations of the same network (different summation orders): 1e-3 absolute on O(10) logits
    expect(worst).toBeLessThan(1e-3);
  });

  it('learns task inference in context (4-shot beats 0-shot)', async () => {
    const cells = await iclCurve(runtimePredictor(model), { families: ['task-inference'], shots: [0, 4], n: 100, seed: 9 });
    const [zero, four] = cells;
    expect(four!.accuracy.p).toBeGreaterThan(zero!.accuracy.p + 0.2);
  });

  it('learns two-way labels in context (one shot of each class beats zero shots)', async () => {
    // 0-shot is a coin flip (the letters are assigned per episode); with one example per class the
    // model must match the query image to a shot. Committed model: 48% -> 98% at n = 200.
    const [zero, two] = await iclCurve(runtimePredictor(model), { families: ['two-way'], shots: [0, 2], n: 100, seed: 9 });
    expect(zero!.accuracy.p).toBeLessThan(0.7);
    expect(two!.accuracy.p).toBeGreaterThan(zero!.accuracy.p + 0.25);
  });
});
