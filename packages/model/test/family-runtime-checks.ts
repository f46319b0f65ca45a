// The GPU-vs-float64 checks every family's runtime test makes on a prepared prompt (shared by
// idefics-, llava-next-, qwen2-vl- and vila-runtime.test.ts): patch against the reference,
// prefixBatch against the naive recompute, greedy generation against the reference's argmax chain.
import { expect } from 'vitest';
import { compareClose, rng } from '@mtv/kernels';
import type { PreparedPrompt, RgbImage, VisionLanguageModel } from '../src/index.js';

/** The float64 reference's logits at the last of `ids` (and the tap), over the prompt's pixels. */
export type ReferenceAt = (ids: ArrayLike<number>, opts?: { tap?: boolean; patch?: { values: Float64Array; mask: Uint8Array } }) => { logits: Float64Array; tap?: Float64Array };

export function randomImage(seed: number, width: number, height: number): RgbImage {
  const r = rng(seed);
  return { width, height, data: Uint8Array.from({ length: width * height * 3 }, () => Math.floor(256 * r())), source: `random image ${seed}` };
}

export function expectClose(got: ArrayLike<number>, ref: ArrayLike<number>, atol: number, rtol: number): void {
  const r = compareClose(got, ref, atol, rtol);
  expect(r.ok, r.message).toBe(true);
}

export const argmax = (a: ArrayLike<number>): number => {
  let best = 0;
  for (let i = 1; i < a.length; i++) if (a[i]! > a[best]!) best = i;
  return best;
};

/** Seeded head outputs patched into every third head: the reference agrees (1e-3) and the logits move. */
export async function expectPatchLikeReference(m: VisionLanguageModel, p: PreparedPrompt, reference: ReferenceAt, unpatched: ArrayLike<number>): Promise<void> {
  const [L, H, D] = m.headShape;
  const rv = rng(9);
  const values = Float32Array.from({ length: L * H * D }, () => 2 * rv() - 1);
  const mask = Uint8Array.from({ length: L * H }, (_, i) => (i % 3 === 0 ? 1 : 0));
  const patched = await m.forward(p, { patch: { values, mask } });
  expectClose(patched.logits, reference(p.ids, { patch: { values: Float64Array.from(values), mask } }).logits, 1e-3, 1e-3);
  expect(compareClose(patched.logits, unpatched, 1e-3, 0).ok).toBe(false);
}

/** Three rows (one unpatched) of a prefix-shared batch equal three full forwards with the same masks (1e-4). */
export async function expectPrefixBatchEqualsNaive(m: VisionLanguageModel, p: PreparedPrompt): Promise<void> {
  const [L, H] = m.headShape;
  const tap = (await m.forward(p, { tap: true })).tap!;
  const values = Float32Array.from(tap, (v, i) => v + Math.sin(i));
  const r = rng(17);
  const masks = Array.from({ length: 3 }, (_, b) => Uint8Array.from({ length: L * H }, () => (b === 0 ? 0 : r() < 0.4 ? 1 : 0)));
  const batched = await m.prefixBatch(p, values, masks);
  const V = m.config.text.vocabSize;
  for (let b = 0; b < masks.length; b++) {
    const naive = await m.forward(p, { patch: { values, mask: masks[b]! } });
    expectClose(batched.subarray(b * V, (b + 1) * V), naive.logits, 1e-4, 1e-4);
  }
}

/** Three greedy tokens equal the reference's argmax over the tokenizer's ids, step by step. */
export async function expectGreedyLikeReference(m: VisionLanguageModel, p: PreparedPrompt, reference: ReferenceAt): Promise<void> {
  const out = await m.generate(p, { maxNewTokens: 3, stopTokens: [] });
  const ids = Array.from(p.ids);
  const want: number[] = [];
  for (let k = 0; k < 3; k++) {
    const next = argmax(reference(ids).logits.subarray(0, m.tokenizer.vocabSize));
    want.push(next);
    ids.push(next);
  }
  expect(out.ids).toEqual(want);
}
