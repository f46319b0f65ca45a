// Applying an MTV: generation with the chosen heads patched at the last prompt token and every
// generated token.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Gpu } from '@mtv/kernels';
import type { VisionLanguageModel } from '@mtv/model';
import { applyMtv, extract, generateWith, headPatch, prepare, zeroShotPrompt, type TaskVector } from '../src/index.js';
import { closeModelFixture, openModelFixture, type Fixture } from './e2e-fixture.js';

let fx: Fixture;
let gpu: Gpu;
let model: VisionLanguageModel;

beforeAll(async () => {
  ({ fx, gpu, model } = await openModelFixture({ n: 8 }));
});

afterAll(() => closeModelFixture({ fx, gpu, model }));

describe('apply', () => {
  it('patching the heads changes the logits and the generation vs zero-shot', async () => {
    const [L, H, D] = model.headShape;
    const means = (await extract(model, fx.qa, { seed: 0, shots: 2, rounds: 2, shardSize: 2 })).means();
    const all = new Uint8Array(L * H).fill(1);
    const prompt = zeroShotPrompt('jsonl', fx.qa.examples[0]!, 0);
    const p = await prepare(model, prompt);
    const plain = await model.forward(p);
    const patched = await model.forward(p, { patch: headPatch(model, { means, heads: all }) });
    const maxDiff = plain.logits.reduce((m, v, i) => Math.max(m, Math.abs(v - patched.logits[i]!)), 0);
    expect(maxDiff).toBeGreaterThan(1e-3);

    // A random-weight model's greedy text need not move under the real means, so the generation check
    // uses a vector far from any natural activation: the text must change.
    const loud: TaskVector = { means: Float32Array.from({ length: L * H * D }, (_, i) => ((i * 7919) % 13) - 6), heads: all };
    const zs = await generateWith(model, p, null, { maxNewTokens: 4 });
    const mtv = await generateWith(model, p, loud, { maxNewTokens: 4 });
    expect(zs.ids.length + mtv.ids.length).toBeGreaterThan(0);
    expect(mtv.ids).not.toEqual(zs.ids);
    // applyMtv (prepare + generate) gives the same as the two steps; greedy decoding is deterministic.
    const again = await applyMtv(model, { text: prompt.text, images: prompt.images }, loud, { maxNewTokens: 4 });
    expect(again.ids).toEqual(mtv.ids);
    // The empty mask is plain generation.
    const none = await generateWith(model, p, { means: loud.means, heads: new Uint8Array(L * H) }, { maxNewTokens: 4 });
    expect(none.ids).toEqual(zs.ids);
  });

  it('refuses vectors of the wrong shape', () => {
    const [L, H, D] = model.headShape;
    expect(() => headPatch(model, { means: new Float32Array(L * H * D + 1), heads: new Uint8Array(L * H) })).toThrow(/MTV means have 129 values; the model's heads are \[2, 4, 16\]/);
    expect(() => headPatch(model, { means: new Float32Array(L * H * D), heads: new Uint8Array(3) })).toThrow(/head mask has 3 entries; the model has 2 layers x 4 heads/);
  });
});
