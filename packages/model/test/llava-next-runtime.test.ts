// LLaVA-NeXT and LLaVA-OneVision end to end through loadModel: the processor's crops, sizes and ids,
// then the GPU forward (the LLaVA tower on every crop, anyres packing: unpadded grid, newline per row,
// OneVision's bilinear pooling, base crop first; the shared decoder) against the float64 reference
// over the same prepared prompt; tap, patch, prefixBatch against the naive recompute, and greedy
// generation against the reference's argmax chain. Images of several aspect ratios: tiling into 2-4
// crops, unpadding of rows and of columns, pooling, an upscaled small image, OneVision's multi-image
// view (one padded crop per image).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Gpu, compareClose, rng } from '@mtv/kernels';
import {
  anyresLayout, loadModel, loadReferenceModel, openCheckpoint, referenceForward, writeTinyLlavaNext, writeTinyLlavaOnevision,
  type LlavaNextConfig, type PreparedPrompt, type ReferenceModel, type RgbImage, type VisionLanguageModel,
} from '../src/index.js';
import { randomImage, expectClose, argmax, expectPatchLikeReference, expectPrefixBatchEqualsNaive, expectGreedyLikeReference } from './family-runtime-checks.js';

interface Case {
  name: string;
  write: (dir: string) => Promise<unknown>;
  text: string;
  /** [width, height] of each image */
  sizes: Array<[number, number]>;
  /** crops of each image (the base included) and its image tokens, derived by hand from the processor code */
  tiles: number[];
  tokens: number[];
  /** which images the model pools (OneVision over its budget) */
  pooled: boolean[];
}

const NEXT = '[INST] <image>\nWhat is shown in this image? [/INST]';
const OV = '<|im_start|>user <image>\nWhat is shown in this image?<|im_end|>\n<|im_start|>assistant\n';

const CASES: Case[] = [
  // 40x23: best (32, 32) -> 2 x 2 crops; grid 8 x 8, newH = int(23 * 8 / 40) = 4, padding 2 -> 4 x 8 rows kept
  { name: 'llava_next (Mistral), landscape: 2x2 crops, rows unpadded', write: (d) => writeTinyLlavaNext(d, { seed: 3 }), text: NEXT, sizes: [[40, 23]], tiles: [5], tokens: [16 + 4 * 9], pooled: [false] },
  // 10x40: best (48, 16) -> 3 x 1; 7x5: every pinpoint holds it whole, the least waste is (16, 32): 1 x 2, newW = int(5.6) = 5, padding 1 -> 4 x 6
  {
    name: 'llava_next, tall and tiny upscaled images, new tensor names', write: (d) => writeTinyLlavaNext(d, { seed: 4, naming: 'new' }),
    text: '[INST] <image>\n<image>\nCompare them. [/INST]', sizes: [[10, 40], [7, 5]], tiles: [4, 3], tokens: [16 + 12 * 5, 16 + 4 * 7], pooled: [false, false],
  },
  // 30x14: best (16, 32): 1 x 2, newH = int(3.73) = 3, padding 0 -> 4 x 8, ratio 1: no pooling
  { name: 'llava_onevision (Qwen2, tied), 1x2 crops, under budget', write: (d) => writeTinyLlavaOnevision(d, { seed: 5 }), text: OV, sizes: [[30, 14]], tiles: [3], tokens: [16 + 4 * 9], pooled: [false] },
  // 25x30: best (32, 32): 2 x 2; newW = int(6.67) = 6, padding 1 -> 8 x 6; ratio sqrt(48 / 32) = 1.22 -> pooled to 6 x 4
  { name: 'llava_onevision, 2x2 crops, columns unpadded, pooled', write: (d) => writeTinyLlavaOnevision(d, { seed: 6 }), text: OV, sizes: [[25, 30]], tiles: [5], tokens: [16 + 6 * 5], pooled: [true] },
  // 12x40: best (48, 16): 3 x 1; 12 x 4 kept; ratio 1.22 -> pooled to 9 x 3
  { name: 'llava_onevision, tall 3x1 crops, pooled', write: (d) => writeTinyLlavaOnevision(d, { seed: 7 }), text: OV, sizes: [[12, 40]], tiles: [4], tokens: [16 + 9 * 4], pooled: [true] },
  // 40x20: best (32, 48): 2 x 3; newH = int(20 * 12 / 40) = 6, padding 1 -> 6 x 12; ratio 1.5 -> pooled to 4 x 8
  { name: 'llava_onevision, 2x3 crops, rows unpadded then pooled', write: (d) => writeTinyLlavaOnevision(d, { seed: 8 }), text: OV, sizes: [[40, 20]], tiles: [7], tokens: [16 + 4 * 9], pooled: [true] },
  // two images in one prompt: batch_num_images 2, each one view padded to a square, 16 + 1 tokens
  {
    name: 'llava_onevision, two images: the multi-image view', write: (d) => writeTinyLlavaOnevision(d, { seed: 9 }),
    text: '<|im_start|>user <image><image>\nWhich is brighter?<|im_end|>\n<|im_start|>assistant\n', sizes: [[30, 14], [9, 21]], tiles: [1, 1], tokens: [17, 17], pooled: [false, false],
  },
];

let root: string;
let gpu: Gpu;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'mtv-llava-next-runtime-'));
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
    const pixels = { data: Float64Array.from(px.data), shape: px.shape, images: px.images! };
    const out = referenceForward(ref, { inputIds: Array.from(ids), pixels }, { lastOnly: true, ...opts });
    return { logits: out.logits, ...(out.tap ? { tap: out.tap } : {}) };
  };

  beforeAll(async () => {
    const dir = join(root, c.name.replace(/\W+/g, '-'));
    await c.write(dir);
    m = await loadModel(dir, { gpu, weightDtype: 'f32' });
    const ckpt = await openCheckpoint(dir);
    expect(ckpt.unexpected).toEqual([]);
    ref = await loadReferenceModel(ckpt);
    await ckpt.close();
    p = await m.prepare({ text: c.text, images: c.sizes.map(([w, h], i) => randomImage(10 + i, w, h)) });
  });

  afterAll(async () => {
    await m?.close();
  });

  it('the processor cuts the crops and expands each image to the hand-derived token count', () => {
    const px = p.pixels!;
    expect(px.images!.map((im) => [im.width, im.height, im.tiles])).toEqual(c.sizes.map(([w, h], i) => [w, h, c.tiles[i]]));
    expect(px.shape).toEqual([c.tiles.reduce((a, b) => a + b, 0), 3, 16, 16]);
    expect(p.imagePositions.map((pos) => pos.length)).toEqual(c.tokens);
    const imageTokens = Array.from(p.ids).filter((id) => id === m.config.imageTokenIndex).length;
    expect(imageTokens).toBe(c.tokens.reduce((a, b) => a + b, 0));
    const cfg = m.config as LlavaNextConfig;
    const g = { pinpoints: cfg.imageGridPinpoints, imageSize: cfg.vision.imageSize, gridSide: cfg.gridSide, maxNumPatches: cfg.maxNumPatches };
    expect(px.images!.map((im) => anyresLayout(im, g).pooled !== null)).toEqual(c.pooled);
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

describe('f16 weights', () => {
  it('logits within 3e-2 of the float64 reference (OneVision, pooled) and NeXT (tiled)', async () => {
    for (const [write, text, size] of [[writeTinyLlavaOnevision, OV, [25, 30]], [writeTinyLlavaNext, NEXT, [40, 23]]] as const) {
      const dir = join(root, `f16-${write.name}`);
      await write(dir, { seed: 12, dtype: 'F16' });
      const m = await loadModel(dir, { gpu, weightDtype: 'f16' });
      try {
        const ckpt = await openCheckpoint(dir);
        const ref = await loadReferenceModel(ckpt);
        await ckpt.close();
        const p = await m.prepare({ text, images: [randomImage(30, size[0], size[1])] });
        const px = p.pixels!;
        const r = referenceForward(ref, { inputIds: Array.from(p.ids), pixels: { data: Float64Array.from(px.data), shape: px.shape, images: px.images! } }, { lastOnly: true });
        expectClose((await m.forward(p)).logits, r.logits, 3e-2, 3e-2);
      } finally {
        await m.close();
      }
    }
  });
});

describe('image features alone', () => {
  it('GPU pack_image_features equals the float64 reference row for row (pooling, unpadding, newlines, base first)', async () => {
    const dir = join(root, 'features');
    await writeTinyLlavaOnevision(dir, { seed: 11 });
    const m = await loadModel(dir, { gpu, weightDtype: 'f32' });
    try {
      const ckpt = await openCheckpoint(dir);
      const ref = await loadReferenceModel(ckpt);
      await ckpt.close();
      const { llavaOnevisionFamily, llavaNextImageFeatures, LlavaNextProcessor } = await import('../src/index.js');
      const proc = m.processor as InstanceType<typeof LlavaNextProcessor>;
      // 'separate': several images of one batch, each tiled on its own (processor(images=[a, b]))
      const separate = new LlavaNextProcessor(proc.config, proc.tokenizer, proc.imageProcessor, proc.rule, 'separate');
      for (const sizes of [[[25, 30]], [[12, 40], [30, 14]], [[40, 20], [16, 16], [9, 21]]] as Array<Array<[number, number]>>) {
        const p = await separate.prepare({ text: '<image>'.repeat(sizes.length), images: sizes.map(([w, h], i) => randomImage(20 + i, w, h)) });
        const px = p.pixels!;
        const want = llavaOnevisionFamily.referenceImageFeatures(ref as never, { data: Float64Array.from(px.data), shape: px.shape, images: px.images! });
        // whole, and in tower passes of 2 crops with feature groups of at most 8 crops (images never split)
        for (const opts of [{}, { cropsPerPass: 2, groupBytes: 8 * 16 * 4 * 64 }]) {
          const rec = gpu.recorder('features');
          const f = await llavaNextImageFeatures(rec, m.weights.vision as never, m.config as LlavaNextConfig, px, opts);
          const read = rec.read(f);
          await rec.submit();
          const got = (await read) as Float32Array;
          f.release();
          expect(got.length).toBe(want.length);
          expectClose(got, want, 1e-4, 1e-3);
        }
        if (sizes.length === 1) {
          // an image whose crop features alone exceed a group is refused by name
          const rec = gpu.recorder('too big');
          await expect(llavaNextImageFeatures(rec, m.weights.vision as never, m.config as LlavaNextConfig, px, { groupBytes: 4 * 16 * 4 * 64 })).rejects.toThrow(/image 0 \(25x30\) has 5 crops of 16 features of 64 \(20480 bytes\), over the device's storage-binding limit of 16384 bytes/);
          await rec.submit();
        }
      }
    } finally {
      await m.close();
    }
  });
});
