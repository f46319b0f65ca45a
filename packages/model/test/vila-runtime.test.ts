// VILA-1.5 end to end through loadModel: the sub-folder checkpoint, the processor's template and image
// tokens, then the GPU forward (SigLIP tower to hidden_states[-2], mlp_downsample with the odd-grid
// padding, shared decoder) against the float64 reference over the same prepared prompt; tap, patch,
// prefixBatch against the naive recompute, and greedy generation against the reference's argmax chain.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Gpu, compareClose, rng } from '@mtv/kernels';
import {
  loadModel, loadReferenceModel, openCheckpoint, referenceForward, writeTinyVila,
  type PreparedPrompt, type ReferenceModel, type RgbImage, type VisionLanguageModel,
} from '../src/index.js';
import { randomImage, expectClose, argmax, expectPatchLikeReference, expectPrefixBatchEqualsNaive, expectGreedyLikeReference } from './family-runtime-checks.js';

interface Case {
  name: string;
  write: (dir: string) => Promise<unknown>;
  text: string;
  sizes: Array<[number, number]>;
  /** image tokens per image */
  perImage: number;
}

const CASES: Case[] = [
  {
    name: 'vila mlp_downsample (5x5 grid padded to 6x6), resize, two images',
    write: (dir) => writeTinyVila(dir, { seed: 3 }),
    text: '<image>What is in the image? Answer: a cat\n<image>What is in the image? Answer:',
    sizes: [[53, 31], [40, 40]],
    perImage: 9,
  },
  {
    name: 'vila mlp2x_gelu, pad',
    write: (dir) => writeTinyVila(dir, { seed: 4, projector: 'mlp2x_gelu', imageAspectRatio: 'pad' }),
    text: '<image>Describe the picture in one sentence.',
    sizes: [[23, 47]],
    perImage: 25,
  },
];

let root: string;
let gpu: Gpu;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'mtv-vila-runtime-'));
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
    const out = referenceForward(ref, { inputIds: Array.from(ids), pixels: { data: Float64Array.from(px.data), shape: px.shape } }, { lastOnly: true, ...opts });
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

  it('the llama_3 template, a single BOS-led prompt, and one image-token id per feature row', () => {
    expect(m.family.name).toBe('vila');
    expect(p.imagePositions.map((q) => q.length)).toEqual(c.sizes.map(() => c.perImage));
    const imageTokens = Array.from(p.ids).filter((id) => id === m.config.imageTokenIndex).length;
    expect(imageTokens).toBe(c.sizes.length * c.perImage);
    // the image-token id is outside the text vocabulary
    expect(m.config.imageTokenIndex).toBe(m.config.text.vocabSize);
    const text = m.tokenizer.decode(Array.from(p.ids).filter((id) => id !== m.config.imageTokenIndex), { skipSpecialTokens: false });
    expect(text.startsWith('<|begin_of_text|><|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nYou are a helpful language')).toBe(true);
    expect(text.endsWith('<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n')).toBe(true);
    expect(p.pixels!.shape).toEqual([c.sizes.length, 3, 40, 40]);
  });

  it('logits, tap and patch at the last token', async () => {
    const got = await m.forward(p, { tap: true });
    const r = reference(p.ids, { tap: true });
    expectClose(got.logits, r.logits, 1e-3, 1e-3);
    expectClose(got.tap!, r.tap!, 1e-4, 1e-3);
    await expectPatchLikeReference(m, p, reference, got.logits);
  });

  it('the image features matter: other pixels change the logits', async () => {
    const got = await m.forward(p);
    const px = p.pixels!;
    const other = { ...p, pixels: { ...px, data: Float32Array.from(px.data, (v) => -v) } };
    expect(compareClose((await m.forward(other)).logits, got.logits, 1e-3, 0).ok).toBe(false);
  });

  it('prefixBatch equals the naive recompute', async () => {
    await expectPrefixBatchEqualsNaive(m, p);
  });

  it('greedy generation follows the reference argmax chain', async () => {
    await expectGreedyLikeReference(m, p, reference);
  });
});

describe('vila: chunked prefill and f16 weights', () => {
  it('7-token prefill chunks (image tokens straddling them) equal one pass; f16 weights stay close', async () => {
    const dir = join(root, 'chunked');
    await writeTinyVila(dir, { seed: 8 });
    const whole = await loadModel(dir, { gpu, weightDtype: 'f32' });
    const chunked = await loadModel(dir, { gpu, weightDtype: 'f32', maxPrefillChunk: 7 });
    const half = await loadModel(dir, { gpu, weightDtype: 'f16' });
    try {
      const p = await whole.prepare({ text: '<image>What is in the image? Answer:', images: [randomImage(3, 45, 30)] });
      expect(p.imagePositions[0]!.some((q) => q % 7 === 6)).toBe(true);
      const a = await whole.forward(p, { tap: true });
      const b = await chunked.forward(p, { tap: true });
      expectClose(b.logits, a.logits, 1e-4, 1e-4);
      expectClose(b.tap!, a.tap!, 1e-5, 1e-4);
      expectClose((await half.forward(p)).logits, a.logits, 3e-2, 3e-2);
    } finally {
      await whole.close();
      await chunked.close();
      await half.close();
    }
  });
});
