// Qwen2-VL and Qwen2.5-VL end to end through loadModel: the processor's flattened patches, grids and
// M-RoPE positions, then the GPU forward (tower with 2-D rotary and per-image / windowed attention,
// patch merger, shared decoder with multimodal RoPE) against the float64 reference over the same
// prepared prompt (which recomputes get_rope_index itself); tap, patch, prefixBatch against the naive
// recompute, greedy generation against the reference's argmax chain (positions max + 1 + k), and
// chunked prefill. Images of several aspect ratios give grids of several shapes (dynamic resolution).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Gpu, compareClose, rng } from '@mtv/kernels';
import {
  loadModel, loadReferenceModel, openCheckpoint, referenceForward, writeTinyQwen2VL,
  type PreparedPrompt, type ReferenceModel, type RgbImage, type VisionLanguageModel,
} from '../src/index.js';
import { randomImage, expectClose, argmax, expectPatchLikeReference, expectPrefixBatchEqualsNaive, expectGreedyLikeReference } from './family-runtime-checks.js';

interface Case {
  name: string;
  write: (dir: string) => Promise<unknown>;
  text: string;
  /** [width, height] of each image */
  sizes: Array<[number, number]>;
  check: (p: PreparedPrompt) => void;
}

const CASES: Case[] = [
  {
    name: 'qwen2-vl, one landscape image in the middle of the text',
    write: (dir) => writeTinyQwen2VL(dir, { seed: 3 }),
    text: '<|im_start|>user\nLook: <image> What is in this picture?<|im_end|>\n<|im_start|>assistant\n',
    sizes: [[45, 21]],
    // 48 x 24 px: a 12 x 6 patch grid, 6 x 3 merged tokens
    check: (p) => expect(p.pixels!.grids).toEqual([[1, 6, 12]]),
  },
  {
    name: 'qwen2-vl, two images (portrait, and one above max_pixels)',
    write: (dir) => writeTinyQwen2VL(dir, { seed: 4 }),
    text: '<|im_start|>user\n<|vision_start|><|image_pad|><|vision_end|>and<|vision_start|><|image_pad|><|vision_end|>Which is brighter?<|im_end|>\n<|im_start|>assistant\n',
    sizes: [[17, 40], [90, 70]],
    check: (p) => expect(p.pixels!.grids!.length).toBe(2),
  },
  {
    name: 'qwen2.5-vl, windows and full-attention blocks, two images',
    write: (dir) => writeTinyQwen2VL(dir, { seed: 5, variant: 'qwen2_5_vl' }),
    text: '<|im_start|>user\n<image>then<image>Compare them.<|im_end|>\n<|im_start|>assistant\n',
    // 40 x 24 px: 5 x 3 merged tokens, windows of 2 x 2 (padded, partial); 32 x 32: 4 x 4 (divisible, an empty pad window)
    sizes: [[41, 22], [30, 33]],
    check: (p) => expect(p.pixels!.grids).toEqual([[1, 6, 10], [1, 8, 8]]),
  },
];

let root: string;
let gpu: Gpu;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'mtv-qwen2vl-runtime-'));
  gpu = await Gpu.create();
});

afterAll(async () => {
  gpu?.destroy();
  await rm(root, { recursive: true, force: true });
});

const refPixels = (p: PreparedPrompt) => {
  const px = p.pixels!;
  return { data: Float64Array.from(px.data), shape: px.shape, grids: px.grids! };
};

describe.each(CASES)('$name: GPU vs the float64 reference', (c) => {
  let m: VisionLanguageModel;
  let ref: ReferenceModel;
  let p: PreparedPrompt;

  const reference = (ids: ArrayLike<number>, opts: { tap?: boolean; patch?: { values: Float64Array; mask: Uint8Array } } = {}): { logits: Float64Array; tap?: Float64Array } => {
    const out = referenceForward(ref, { inputIds: Array.from(ids), pixels: refPixels(p) }, { lastOnly: true, ...opts });
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

  it('the processor expands every image to t*h*w/4 pads with its grid and M-RoPE positions', () => {
    c.check(p);
    const imageTokens = Array.from(p.ids).filter((id) => id === m.config.imageTokenIndex).length;
    const grids = p.pixels!.grids!;
    expect(imageTokens).toBe(grids.reduce((a, [t, h, w]) => a + (t * h * w) / 4, 0));
    expect(p.imagePositions.map((x) => x.length)).toEqual(grids.map(([t, h, w]) => (t * h * w) / 4));
    expect(p.pixels!.shape).toEqual([imageTokens * 4, 6, 4, 4]);
    expect(p.ropePositions!.length).toBe(3 * p.ids.length);
    // the height and width rows differ inside an image, so M-RoPE is exercised
    const T = p.ids.length;
    expect(Array.from({ length: T }, (_, i) => p.ropePositions![T + i] !== p.ropePositions![2 * T + i]).some(Boolean)).toBe(true);
  });

  it('logits, tap and patch at the last token', async () => {
    const got = await m.forward(p, { tap: true });
    const r = reference(p.ids, { tap: true });
    expectClose(got.logits, r.logits, 1e-3, 1e-3);
    expectClose(got.tap!, r.tap!, 1e-4, 1e-3);
    // the reference with plain 1-D positions differs: the test sees M-RoPE
    const plain = referenceForward(ref, { inputIds: Array.from(p.ids), pixels: refPixels(p), ropePositions: Int32Array.from({ length: 3 * p.ids.length }, (_, i) => i % p.ids.length) }, { lastOnly: true });
    expect(compareClose(got.logits, plain.logits, 1e-3, 1e-3).ok).toBe(false);
    await expectPatchLikeReference(m, p, reference, got.logits);
  });

  it('prefixBatch equals the naive recompute', async () => {
    await expectPrefixBatchEqualsNaive(m, p);
  });

  it('greedy generation follows the reference argmax chain (positions continue at max + 1)', async () => {
    await expectGreedyLikeReference(m, p, reference);
  });
});

describe('f16 weights', () => {
  it('qwen2.5-vl with packed f16 matmul weights (the reshaped Conv3d patch embed included) stays within 3e-2 of the float64 reference', async () => {
    const dir = join(root, 'f16');
    await writeTinyQwen2VL(dir, { seed: 6, variant: 'qwen2_5_vl' });
    const m = await loadModel(dir, { gpu, weightDtype: 'f16' });
    try {
      const p = await m.prepare({ text: '<|im_start|>user\n<image>Describe it.<|im_end|>\n<|im_start|>assistant\n', images: [randomImage(4, 37, 29)] });
      const ckpt = await openCheckpoint(dir);
      const ref = await loadReferenceModel(ckpt);
      await ckpt.close();
      const r = referenceForward(ref, { inputIds: Array.from(p.ids), pixels: refPixels(p) }, { lastOnly: true });
      expectClose((await m.forward(p)).logits, r.logits, 3e-2, 3e-2);
    } finally {
      await m.close();
    }
  });
});

describe('chunked prefill (prompts longer than one pass)', () => {
  it('a prompt in 7-token chunks gives the same logits, tap, prefixBatch and generation as one pass', async () => {
    const dir = join(root, 'chunked');
    await writeTinyQwen2VL(dir, { seed: 8 });
    const whole = await loadModel(dir, { gpu, weightDtype: 'f32' });
    const chunked = await loadModel(dir, { gpu, weightDtype: 'f32', maxPrefillChunk: 7 });
    try {
      expect(chunked.prefillChunk).toBe(7);
      const p = await whole.prepare({ text: '<|im_start|>user\n<image>What is in this picture? Say it twice.<|im_end|>\n<|im_start|>assistant\n', images: [randomImage(3, 50, 35)] });
      expect(p.ids.length).toBeGreaterThan(3 * 7);
      expect(p.imagePositions[0]!.some((q) => q % 7 === 6)).toBe(true);
      const a = await whole.forward(p, { tap: true });
      const b = await chunked.forward(p, { tap: true });
      expectClose(b.logits, a.logits, 1e-4, 1e-4);
      expectClose(b.tap!, a.tap!, 1e-5, 1e-4);
      const ckpt = await openCheckpoint(dir);
      const ref = await loadReferenceModel(ckpt);
      await ckpt.close();
      const r = referenceForward(ref, { inputIds: Array.from(p.ids), pixels: refPixels(p) }, { lastOnly: true, tap: true });
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
