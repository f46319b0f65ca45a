// The GPU decoder's MLP honours text_config.hidden_act (not only silu): for each activation a tiny
// Llama checkpoint's GPU logits match the float64 reference, which applies act(gate) * up.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Gpu, compareClose, rng } from '@mtv/kernels';
import {
  loadModel, loadReferenceModel, openCheckpoint, referenceForward, writeTinyCheckpoint,
  type Activation, type PreparedPrompt, type ReferenceModel, type RgbImage,
} from '../src/index.js';
import { join } from 'node:path';
import { useTempDir } from './temp-dir.js';

const ACTS: readonly Activation[] = ['silu', 'gelu_pytorch_tanh', 'gelu', 'quick_gelu'];
const TEXT = 'USER: <image> What color is the shape? ASSISTANT:';

let root = '';
useTempDir('mtv-decoder-act-', (d) => (root = d));
let gpu: Gpu;
const refLogits = new Map<Activation, Float64Array>();

beforeAll(async () => {
  gpu = await Gpu.create();
});
afterAll(() => gpu?.destroy());

function image(seed: number): RgbImage {
  const r = rng(seed);
  return { width: 29, height: 23, data: Uint8Array.from({ length: 29 * 23 * 3 }, () => Math.floor(256 * r())), source: `random image ${seed}` };
}

function reference(ref: ReferenceModel, p: PreparedPrompt): Float64Array {
  const pixels = p.pixels ? { data: Float64Array.from(p.pixels.data), shape: p.pixels.shape } : undefined;
  return referenceForward(ref, { inputIds: Array.from(p.ids), ...(pixels ? { pixels } : {}) }, { lastOnly: true }).logits;
}

describe('GPU decoder hidden_act vs the float64 reference', () => {
  it.each(ACTS)('%s', async (act) => {
    const dir = join(root, act);
    await writeTinyCheckpoint(dir, { family: 'clip-llama', seed: 7, configOverrides: { text: { hidden_act: act } } });
    const ckpt = await openCheckpoint(dir);
    const ref = await loadReferenceModel(ckpt);
    await ckpt.close();
    expect(ref.config.text.hiddenAct).toBe(act);
    const m = await loadModel(dir, { gpu, weightDtype: 'f32' });
    try {
      const p = await m.prepare({ text: TEXT, images: [image(3)] });
      const want = reference(ref, p);
      refLogits.set(act, want);
      const got = (await m.forward(p)).logits;
      // f32 kernels vs float64: the tolerance runtime.test.ts uses for f32 weights.
      const r = compareClose(got, want, 1e-3, 1e-3);
      expect(r.ok, `${act}: ${r.message}`).toBe(true);
    } finally {
      await m.close();
    }
  });

  it('the activations really give different logits (so a silu-only decoder fails the cases above)', () => {
    const silu = refLogits.get('silu')!;
    for (const act of ACTS.filter((a) => a !== 'silu')) {
      expect(compareClose(refLogits.get(act)!, silu, 1e-2, 1e-2).ok, act).toBe(false);
    }
  });
});
