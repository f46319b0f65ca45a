// The Idefics families end to end through loadModel: the processor's pixels and ids, then the GPU
// forward (tower with padded-patch masking, pixel shuffle or perceiver, shared decoder) against the
// float64 reference over the same prepared prompt; tap, patch, prefixBatch against the naive
// recompute, and greedy generation against the reference's argmax chain. Images are chosen to need
// tiling (Idefics3) and padding (Idefics2 frames of different sizes).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Gpu, compareClose, rng } from '@mtv/kernels';
import {
  loadModel, loadReferenceModel, openCheckpoint, referenceForward, writeTinyIdefics2, writeTinyIdefics3,
  type PreparedPrompt, type ReferenceModel, type RgbImage, type VisionLanguageModel,
} from '../src/index.js';
import { randomImage, expectClose, argmax, expectPatchLikeReference, expectPrefixBatchEqualsNaive, expectGreedyLikeReference } from './family-runtime-checks.js';

interface Case {
  name: string;
  write: (dir: string) => Promise<unknown>;
  text: string;
  /** [width, height] of each image */
  sizes: Array<[number, number]>;
  /** what the processor must have done with them */
  check: (p: PreparedPrompt) => void;
}

const CASES: Case[] = [
  {
    name: 'idefics3 (SmolVLM-shaped), image splitting on',
    write: (dir) => writeTinyIdefics3(dir, { seed: 3, doImageSplitting: true }),
    text: 'User:<image>What is in this picture?<end_of_utterance>\nAssistant:',
    sizes: [[70, 41]],
    // a landscape image tiles into several crops plus the global view
    check: (p) => expect(p.pixels!.shape[0]).toBeGreaterThan(2),
  },
  {
    name: 'idefics3, splitting off, two images',
    write: (dir) => writeTinyIdefics3(dir, { seed: 4, doImageSplitting: false }),
    text: 'User:<image>and<image>Which is brighter?<end_of_utterance>\nAssistant:',
    sizes: [[23, 57], [40, 40]],
    check: (p) => expect(p.pixels!.shape[0]).toBe(2),
  },
  {
    name: 'idefics2 (Mistral decoder, perceiver), frames of different sizes padded',
    write: (dir) => writeTinyIdefics2(dir, { seed: 5, doImageSplitting: false }),
    text: 'User:<image><image>Compare them.<end_of_utterance>\nAssistant:',
    sizes: [[33, 17], [20, 31]],
    // padding: some pixels of the batch are masked out
    check: (p) => expect(p.pixels!.mask!.some((v) => v === 0)).toBe(true),
  },
  {
    name: 'idefics2, splitting on',
    write: (dir) => writeTinyIdefics2(dir, { seed: 6, doImageSplitting: true }),
    text: 'User:<image>Describe it.<end_of_utterance>\nAssistant:',
    sizes: [[37, 29]],
    check: (p) => expect(p.pixels!.shape[0]).toBe(5),
  },
];

let root: string;
let gpu: Gpu;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'mtv-idefics-runtime-'));
  gpu = await Gpu.create();
});

afterAll(async () => {
  gpu?.destroy();
  await rm(root, { recursive: true, force: true });
});

describe.each(CASES)('$name: GPU vs the float64 reference', (c) => {
  let m: VisionLanguageModel;
  let ref: ReferenceModel;
  let p: PreparedPrompt;

  const reference = (ids: ArrayLike<number>, opts: { tap?: boolean; patch?: { values: Float64Array; mask: Uint8Array } } = {}): { logits: Float64Array; tap?: Float64Array } => {
    const px = p.pixels!;
    const pixels = { data: Float64Array.from(px.data), shape: px.shape, ...(px.mask ? { mask: px.mask } : {}) };
    const out = referenceForward(ref, { inputIds: Array.from(ids), pixels }, { lastOnly: true, ...opts });
    return { logits: out.logits, ...(out.tap ? { tap: out.tap } : {}) };
  };

  beforeAll(async () => {
    const dir = join(root, c.name.replace(/\W+/g, '-'));
    await c.write(dir);
    m = await loadModel(dir, { gpu, weightDtype: 'f32' });
    const ckpt = await openCheckpoint(dir);
    ref = await loadReferenceModel(ckpt);
    await ckpt.close();
    p = await m.prepare({ text: c.text, images: c.sizes.map(([w, h], i) => randomImage(10 + i, w, h)) });
  });

  afterAll(async () => {
    await m?.close();
  });

  it('the processor expands every image and gives one feature row per image token', () => {
    c.check(p);
    const imageTokens = Array.from(p.ids).filter((id) => id === m.config.imageTokenIndex).length;
    expect(p.imagePositions.flat().length).toBe(imageTokens);
    expect(p.imagePositions.length).toBe(c.sizes.length);
  });

  it('logits, tap and patch at the last token', async () => {
    const got = await m.forward(p, { tap: true });
    const r = reference(p.ids, { tap: true });
    expectClose(got.logits, r.logits, 1e-3, 1e-3);
    expectClose(got.tap!, r.tap!, 1e-4, 1e-3);
    await expectPatchLikeReference(m, p, reference, got.logits);
  });

  it('prefixBatch equals the naive recompute', async () => {
    await expectPrefixBatchEqualsNaive(m, p);
  });

  it('greedy generation follows the reference argmax chain', async () => {
    await expectGreedyLikeReference(m, p, reference);
  });
});

describe('chunked prefill (prompts longer than one pass)', () => {
  it('a prompt in 7-token chunks gives the same logits, tap, patch, prefixBatch and generation as one pass', async () => {
    const dir = join(root, 'chunked');
    await writeTinyIdefics3(dir, { seed: 8, doImageSplitting: true });
    const whole = await loadModel(dir, { gpu, weightDtype: 'f32' });
    const chunked = await loadModel(dir, { gpu, weightDtype: 'f32', maxPrefillChunk: 7 });
    try {
      expect(chunked.prefillChunk).toBe(7);
      expect(whole.prefillChunk).toBeGreaterThan(1000);
      const p = await whole.prepare({ text: 'User:<image>What is in this picture? Say it twice.<end_of_utterance>\nAssistant:', images: [randomImage(3, 50, 35)] });
      expect(p.ids.length).toBeGreaterThan(3 * 7);
      // image tokens straddle chunk boundaries
      expect(p.imagePositions[0]!.some((q) => q % 7 === 6)).toBe(true);
      const a = await whole.forward(p, { tap: true });
      const b = await chunked.forward(p, { tap: true });
      expectClose(b.logits, a.logits, 1e-4, 1e-4);
      expectClose(b.tap!, a.tap!, 1e-5, 1e-4);
      // and against the float64 reference directly
      const ckpt = await openCheckpoint(dir);
      const ref = await loadReferenceModel(ckpt);
      await ckpt.close();
      const px = p.pixels!;
      const r = referenceForward(ref, { inputIds: Array.from(p.ids), pixels: { data: Float64Array.from(px.data), shape: px.shape, ...(px.mask ? { mask: px.mask } : {}) } }, { lastOnly: true, tap: true });
      expectClose(b.logits, r.logits, 1e-3, 1e-3);
      expectClose(b.tap!, r.tap!, 1e-4, 1e-3);
      const [L, H, D] = whole.headShape;
      const values = Float32Array.from({ length: L * H * D }, (_, i) => Math.cos(i));
      const masks = [new Uint8Array(L * H).fill(1), new Uint8Array(L * H)];
      expectClose(await chunked.prefixBatch(p, values, masks), await whole.prefixBatch(p, values, masks), 1e-4, 1e-4);
      const g1 = await whole.generate(p, { maxNewTokens: 4, stopTokens: [], patch: { values, mask: masks[0]! } });
      const g2 = await chunked.generate(p, { maxNewTokens: 4, stopTokens: [], patch: { values, mask: masks[0]! } });
      expect(g2.ids).toEqual(g1.ids);
    } finally {
      await whole.close();
      await chunked.close();
    }
  });
});
