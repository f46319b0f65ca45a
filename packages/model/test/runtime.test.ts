// The GPU forward (kernels) against the float64 CPU reference forward, on tiny checkpoints of both
// families; tap, patch and the prefix-shared batch against their naive equivalents; generation.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Gpu, compareClose, rng } from '@mtv/kernels';
import {
  loadModel, type VisionLanguageModel, loadReferenceModel, referenceForward, writeTinyCheckpoint,
  type PreparedPrompt, type ReferenceModel, type RgbImage, type TinyFamily,
} from '../src/index.js';

let root: string;
let gpu: Gpu;
const FAMILIES: readonly TinyFamily[] = ['clip-llama', 'siglip-qwen2'];
const models = new Map<string, VisionLanguageModel>();
const refs = new Map<TinyFamily, ReferenceModel>();

function expectClose(got: ArrayLike<number>, ref: ArrayLike<number>, atol: number, rtol: number): void {
  const r = compareClose(got, ref, atol, rtol);
  expect(r.ok, r.message).toBe(true);
}

function randomImage(seed: number, width: number, height: number): RgbImage {
  const r = rng(seed);
  return { width, height, data: Uint8Array.from({ length: width * height * 3 }, () => Math.floor(256 * r())), source: `random image ${seed}` };
}

const PROMPTS: Record<TinyFamily, string> = {
  'clip-llama': 'USER: <image> What color is the shape? <image> How many are there? ASSISTANT:',
  'siglip-qwen2': '<|im_start|>user <image> What is this? <|im_end|> <|im_start|>assistant',
};

async function prompt(m: VisionLanguageModel, family: TinyFamily, seed = 1): Promise<PreparedPrompt> {
  const n = (PROMPTS[family].match(/<image>/g) ?? []).length;
  return m.prepare({ text: PROMPTS[family], images: Array.from({ length: n }, (_, i) => randomImage(seed * 10 + i, 30 + i * 7, 26 + i * 3)) });
}

function reference(family: TinyFamily, p: PreparedPrompt, opts: { tap?: boolean; patch?: { values: Float64Array; mask: Uint8Array } } = {}): { logits: Float64Array; tap?: Float64Array } {
  const ref = refs.get(family)!;
  const pixels = p.pixels ? { data: Float64Array.from(p.pixels.data), shape: p.pixels.shape } : undefined;
  const out = referenceForward(ref, { inputIds: Array.from(p.ids), ...(pixels ? { pixels } : {}) }, { lastOnly: true, ...opts });
  return { logits: out.logits, ...(out.tap ? { tap: out.tap } : {}) };
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'mtv-runtime-'));
  gpu = await Gpu.create();
  for (const family of FAMILIES) {
    const dir = join(root, family);
    await writeTinyCheckpoint(dir, { family, seed: 5 });
    for (const dtype of ['f32', 'f16'] as const) models.set(`${family}/${dtype}`, await loadModel(dir, { gpu, weightDtype: dtype }));
    const { openCheckpoint } = await import('../src/index.js');
    const ckpt = await openCheckpoint(dir);
    refs.set(family, await loadReferenceModel(ckpt));
    await ckpt.close();
  }
});

afterAll(async () => {
  for (const m of models.values()) await m.close();
  gpu?.destroy();
  await rm(root, { recursive: true, force: true });
});

describe.each(FAMILIES)('%s on the GPU vs the float64 reference', (family) => {
  // f32 weights: all error is f32 rounding in the kernels, well under 1e-3 on logits of size ~1-5.
  // f16 weights: the weights themselves are rounded to 11 bits, so logits move by up to ~1e-2.
  it('logits at the last token (f32 and f16 weights)', async () => {
    const m32 = models.get(`${family}/f32`)!;
    const p = await prompt(m32, family);
    const ref = reference(family, p);
    const got = await m32.forward(p);
    expectClose(got.logits, ref.logits, 1e-3, 1e-3);
    const got16 = await models.get(`${family}/f16`)!.forward(p);
    expectClose(got16.logits, ref.logits, 3e-2, 3e-2);
  });

  it('tap returns the per-head o_proj inputs at the last token', async () => {
    const m = models.get(`${family}/f32`)!;
    const p = await prompt(m, family, 2);
    const got = await m.forward(p, { tap: true });
    const ref = reference(family, p, { tap: true });
    expect(got.tap!.length).toBe(m.headShape.reduce((a, b) => a * b, 1));
    expectClose(got.tap!, ref.tap!, 1e-4, 1e-3);
  });

  it('patch writes the given head outputs, as the reference does', async () => {
    const m = models.get(`${family}/f32`)!;
    const [L, H, D] = m.headShape;
    const p = await prompt(m, family, 3);
    const r = rng(9);
    const values = Float32Array.from({ length: L * H * D }, () => 2 * r() - 1);
    const mask = Uint8Array.from({ length: L * H }, (_, i) => (i % 3 === 0 ? 1 : 0));
    const got = await m.forward(p, { patch: { values, mask } });
    const ref = reference(family, p, { patch: { values: Float64Array.from(values), mask } });
    expectClose(got.logits, ref.logits, 1e-3, 1e-3);
    const plain = await m.forward(p);
    expect(compareClose(got.logits, plain.logits, 1e-3, 0).ok).toBe(false); // the patch really changes the output
  });

  it('prefix-shared batch equals the naive full recompute with the same masks', async () => {
    const m = models.get(`${family}/f32`)!;
    const [L, H, D] = m.headShape;
    const p = await prompt(m, family, 4);
    const tap = (await m.forward(p, { tap: true })).tap!;
    const r = rng(17);
    const masks = Array.from({ length: 5 }, (_, b) => Uint8Array.from({ length: L * H }, () => (b === 0 ? 0 : r() < 0.4 ? 1 : 0)));
    const values = Float32Array.from(tap, (v, i) => v + Math.sin(i)); // far from the natural outputs
    const batched = await m.prefixBatch(p, values, masks);
    const V = m.config.text.vocabSize;
    expect(batched.length).toBe(masks.length * V);
    for (let b = 0; b < masks.length; b++) {
      const naive = await m.forward(p, { patch: { values, mask: masks[b]! } });
      expectClose(batched.subarray(b * V, (b + 1) * V), naive.logits, 1e-4, 1e-4);
    }
    // per-row cross-entropy of a target token, computed on the GPU
    const target = 7;
    const ce = await m.prefixBatch(p, values, masks, { target });
    for (let b = 0; b < masks.length; b++) {
      const row = batched.subarray(b * V, (b + 1) * V);
      const max = Math.max(...row);
      const lse = max + Math.log(row.reduce((s, v) => s + Math.exp(v - max), 0));
      expect(ce[b]).toBeCloseTo(lse - row[target]!, 4);
    }
  });

  it('greedy generation is deterministic and starts with the argmax of the prompt logits', async () => {
    const m = models.get(`${family}/f32`)!;
    const p = await prompt(m, family, 5);
    const a = await m.generate(p, { maxNewTokens: 6, stopTokens: [] });
    const b = await m.generate(p, { maxNewTokens: 6, stopTokens: [] });
    expect(a.ids).toEqual(b.ids);
    expect(a.ids.length).toBe(6);
    const logits = (await m.forward(p)).logits;
    let best = 0;
    for (let i = 1; i < logits.length; i++) if (logits[i]! > logits[best]!) best = i;
    expect(a.ids[0]).toBe(best);
    // generation step 2 equals a full forward over prompt + first token (the KV cache is right)
    const p2: PreparedPrompt = { ...p, ids: Int32Array.from([...p.ids, a.ids[0]!]) };
    const l2 = (await m.forward(p2)).logits;
    let best2 = 0;
    for (let i = 1; i < l2.length; i++) if (l2[i]! > l2[best2]!) best2 = i;
    expect(a.ids[1]).toBe(best2);
  });
});

describe('bad input', () => {
  it('wrong patch shapes and out-of-vocabulary ids are named', async () => {
    const m = models.get('clip-llama/f32')!;
    const p = await prompt(m, 'clip-llama');
    await expect(m.forward(p, { patch: { values: new Float32Array(3), mask: new Uint8Array(3) } })).rejects.toThrow(/patch values have 3 elements/);
    const bad: PreparedPrompt = { ...p, ids: Int32Array.from([...p.ids, 100000]) };
    await expect(m.forward(bad)).rejects.toThrow(/token id 100000 at position \d+ is outside the vocabulary/);
  });
});
