// The locator's rollouts: prefix-shared batched CE (model.prefixBatch) against the naive per-mask
// recompute with a host log-softmax (the reference), and locate() end to end for a few steps.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Gpu } from '@mtv/kernels';
import type { VisionLanguageModel } from '@mtv/model';
import {
  Prng, crossEntropyHost, extract, firstAnswerToken, locate, locatorSets, prepare, rolloutEvaluator, zeroShotPrompt,
  type Example, type LocatorEvent,
} from '../src/index.js';
import { closeModelFixture, openModelFixture, type Fixture } from './e2e-fixture.js';

let fx: Fixture;
let gpu: Gpu;
let model: VisionLanguageModel;
let means: Float32Array;

beforeAll(async () => {
  ({ fx, gpu, model } = await openModelFixture({ n: 12 }));
  means = (await extract(model, fx.qa, { seed: 1, shots: 2, rounds: 3, shardSize: 2 })).means();
});

afterAll(() => closeModelFixture({ fx, gpu, model }));

function randomMasks(n: number, seed: number): Uint8Array[] {
  const [L, H] = model.headShape;
  const rng = Prng.derive(seed, 'masks');
  return Array.from({ length: n }, () => Uint8Array.from({ length: L * H }, () => (rng.nextFloat() < 0.4 ? 1 : 0)));
}

describe('rollout evaluators', () => {
  // Both paths compute the same f32 logits up to summation order (prefix cache vs full prompt) and
  // the CE in f32 on the GPU vs f64 on the host: 1e-4 absolute on CE values of ~4.
  it('prefix-shared batch == naive recompute for the same masks (1e-4)', async () => {
    const [L, H] = model.headShape;
    const masks = [new Uint8Array(L * H), new Uint8Array(L * H).fill(1), ...randomMasks(4, 3)];
    const prefix = rolloutEvaluator(model, { format: 'jsonl', means });
    const naive = rolloutEvaluator(model, { format: 'jsonl', means, mode: 'naive' });
    for (const [index, item] of fx.qa.examples.slice(0, 1).entries()) {
      const q = { item, index, variant: 5 };
      const a = await prefix(q, masks);
      const b = await naive(q, masks);
      expect(a.length).toBe(masks.length);
      for (let k = 0; k < masks.length; k++) expect(Math.abs(a[k]! - b[k]!), `example ${index} mask ${k}: ${a[k]} vs ${b[k]}`).toBeLessThan(1e-4);
      // Patching changes the loss: the all-heads mask differs from the empty one.
      expect(Math.abs(a[1]! - a[0]!)).toBeGreaterThan(1e-5);
    }
  });

  it('the empty mask gives the unpatched CE of the first answer token', async () => {
    const item: Example = fx.qa.examples[3]!;
    const prompt = zeroShotPrompt('jsonl', item, 0);
    const target = firstAnswerToken(model, prompt);
    expect(target).toBe(model.tokenizer.encode(prompt.text + prompt.continuation)[model.tokenizer.encode(prompt.text).length]);
    const { logits } = await model.forward(await prepare(model, prompt));
    const [L, H] = model.headShape;
    const [ce] = await rolloutEvaluator(model, { format: 'jsonl', means })({ item, index: 3, variant: 0 }, [new Uint8Array(L * H)]);
    expect(Math.abs(ce! - crossEntropyHost(logits, target))).toBeLessThan(1e-4);
  });

  it('refuses means of the wrong shape', () => {
    expect(() => rolloutEvaluator(model, { format: 'jsonl', means: new Float32Array(7) })).toThrow(/means have 7 values; the model's heads are \[2, 4, 16\]/);
  });
});

describe('locate', () => {
  it('splits the data as the reference and runs a few REINFORCE steps end to end', async () => {
    const sets = locatorSets(fx.qa, { seed: 2, reinforceSize: 6, selectionSize: 3, validationSize: 2 });
    expect(sets.reinforce.length).toBe(6);
    expect(sets.selection).toEqual(fx.qa.examples.slice(0, 3));
    expect(sets.validation.every((v) => !sets.reinforce.includes(v))).toBe(true);
    const events: LocatorEvent['kind'][] = [];
    const r = await locate(model, fx.qa, means, {
      seed: 2, steps: 3, samplesPerStep: 4, validateEvery: 2, finalSamples: 2, reinforceSize: 6, selectionSize: 3, validationSize: 2,
      onEvent: (e) => { events.push(e.kind); },
    });
    const [L, H] = model.headShape;
    expect(r.state.step).toBe(3);
    expect(r.heads.length).toBe(L * H);
    expect(events.filter((k) => k === 'step').length).toBe(3);
    expect(r.validation.map((v) => v.step)).toEqual([0, 2]);
    expect(r.candidates.length).toBe(2);
    expect(Number.isFinite(r.selectionLoss)).toBe(true);
    // The logits moved away from their initial value -1 (the gradient is non-zero).
    expect(Array.from(r.state.logits).some((x) => x !== -1)).toBe(true);
  });

  it('prefix and naive rollouts take the same locator path', async () => {
    const opts = { seed: 4, steps: 2, samplesPerStep: 4, validateEvery: 0, finalSamples: 2, reinforceSize: 4, selectionSize: 2 };
    const a = await locate(model, fx.qa, means, opts);
    const b = await locate(model, fx.qa, means, { ...opts, mode: 'naive' });
    expect(Array.from(b.heads)).toEqual(Array.from(a.heads));
    for (let i = 0; i < a.state.logits.length; i++) expect(Math.abs(a.state.logits[i]! - b.state.logits[i]!)).toBeLessThan(1e-3);
  });
});
