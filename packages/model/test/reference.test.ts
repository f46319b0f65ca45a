import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { rng } from '@mtv/kernels';
import {
  applyRope, layerNorm, loadReferenceModel, openCheckpoint, referenceForward, referenceImageFeatures, referenceVisionHiddenStates, tinyVocab, writeTinyCheckpoint,
  type ReferenceModel, type TinyFamily,
} from '../src/index.js';

let root: string;
const models = new Map<TinyFamily, ReferenceModel>();

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'mtv-ref-'));
  for (const family of ['clip-llama', 'siglip-qwen2'] as const) {
    const dir = join(root, family);
    await writeTinyCheckpoint(dir, { family, seed: 11 });
    const ckpt = await openCheckpoint(dir);
    models.set(family, await loadReferenceModel(ckpt));
    await ckpt.close();
  }
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

function image(m: ReferenceModel, seed: number): Float64Array {
  const { numChannels: C, imageSize: S } = m.config.vision;
  const r = rng(seed);
  return Float64Array.from({ length: C * S * S }, () => 4 * r() - 2); // normalised pixels lie in about [-2, 2]
}

/** "<prefix words> <image>×N <suffix words>" as ids of the tiny vocabulary. */
function prompt(family: TinyFamily, m: ReferenceModel, before: string[], after: string[]): number[] {
  const vocab = tinyVocab(family);
  const id = (w: string): number => vocab.get(w)!;
  return [...before.map(id), ...Array<number>(m.config.imageSeqLength).fill(m.config.imageTokenIndex), ...after.map(id)];
}

const maxAbsDiff = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i]! - b[i]!));
  return d;
};

for (const family of ['clip-llama', 'siglip-qwen2'] as const) {
  describe(`reference forward (${family})`, () => {
    const setup = (): { m: ReferenceModel; ids: number[]; img: Float64Array; L: number; H: number; D: number } => {
      const m = models.get(family)!;
      const ids = prompt(family, m, family === 'clip-llama' ? ['<s>', 'USER:'] : ['<|im_start|>', 'user'], ['What', 'color', 'is', 'this?', 'ASSISTANT:']);
      return { m, ids, img: image(m, 1), L: m.config.text.numLayers, H: m.config.text.numHeads, D: m.config.text.headDim };
    };

    it('logits are finite and O(1); lastOnly equals the last row; the selected vision state has the right size', () => {
      const { m, ids, img } = setup();
      const V = m.config.text.vocabSize;
      const full = referenceForward(m, { inputIds: ids, images: [img] });
      expect(full.positions).toBe(ids.length);
      expect(full.logits.length).toBe(ids.length * V);
      expect(full.logits.every(Number.isFinite)).toBe(true);
      const maxAbs = full.logits.reduce((a, v) => Math.max(a, Math.abs(v)), 0);
      expect(maxAbs).toBeGreaterThan(0.1);
      expect(maxAbs).toBeLessThan(100);
      const last = referenceForward(m, { inputIds: ids, images: [img] }, { lastOnly: true });
      expect(Array.from(last.logits)).toEqual(Array.from(full.logits.subarray((ids.length - 1) * V)));
      const states = referenceVisionHiddenStates(m, img);
      expect(states.length).toBe(m.config.visionHiddenStateIndex + 1);
      expect(referenceImageFeatures(m, img).length).toBe(m.config.imageSeqLength * m.config.text.hiddenSize);
    });

    it('patch with an all-zero mask is the plain forward; patching the tapped values back is a no-op', () => {
      const { m, ids, img, L, H, D } = setup();
      const plain = referenceForward(m, { inputIds: ids, images: [img] }, { tap: true });
      expect(plain.tap!.length).toBe(L * H * D);
      const zero = referenceForward(m, { inputIds: ids, images: [img] }, { patch: { values: new Float64Array(L * H * D).fill(3), mask: new Uint8Array(L * H) } });
      expect(Array.from(zero.logits)).toEqual(Array.from(plain.logits));
      const same = referenceForward(m, { inputIds: ids, images: [img] }, { patch: { values: plain.tap!, mask: new Uint8Array(L * H).fill(1) } });
      expect(Array.from(same.logits)).toEqual(Array.from(plain.logits));
    });

    it('tap values change with the prompt; a one-head patch changes only the last position and that head\'s later taps', () => {
      const { m, ids, img, L, H, D } = setup();
      const V = m.config.text.vocabSize;
      const a = referenceForward(m, { inputIds: ids, images: [img] }, { tap: true });
      const otherIds = [...ids.slice(0, -2), tinyVocab(family).get('shape')!, ids.at(-1)!];
      const b = referenceForward(m, { inputIds: otherIds, images: [img] }, { tap: true });
      for (let l = 0; l < L; l++) expect(maxAbsDiff(a.tap!.subarray(l * H * D, (l + 1) * H * D), b.tap!.subarray(l * H * D, (l + 1) * H * D))).toBeGreaterThan(1e-6);

      const mask = new Uint8Array(L * H);
      mask[0 * H + 1] = 1; // layer 0, head 1
      const patched = referenceForward(m, { inputIds: ids, images: [img] }, { tap: true, patch: { values: b.tap!, mask } });
      const n = ids.length;
      expect(Array.from(patched.logits.subarray(0, (n - 1) * V))).toEqual(Array.from(a.logits.subarray(0, (n - 1) * V)));
      expect(maxAbsDiff(patched.logits.subarray((n - 1) * V), a.logits.subarray((n - 1) * V))).toBeGreaterThan(1e-6);
      // The tap reports the patched value for the patched head, and layer-0 heads are otherwise untouched.
      expect(Array.from(patched.tap!.subarray(1 * D, 2 * D))).toEqual(Array.from(b.tap!.subarray(1 * D, 2 * D)));
      expect(Array.from(patched.tap!.subarray(0, D))).toEqual(Array.from(a.tap!.subarray(0, D)));
    });

    it('is causal, and image features only reach positions at or after the image', () => {
      const { m, ids, img } = setup();
      const V = m.config.text.vocabSize;
      const full = referenceForward(m, { inputIds: ids, images: [img] });
      const k = ids.length - 2;
      const prefix = referenceForward(m, { inputIds: ids.slice(0, k), images: [img] });
      expect(maxAbsDiff(prefix.logits, full.logits.subarray(0, k * V))).toBeLessThan(1e-12);
      const other = referenceForward(m, { inputIds: ids, images: [image(m, 2)] });
      expect(Array.from(other.logits.subarray(0, 2 * V))).toEqual(Array.from(full.logits.subarray(0, 2 * V))); // the 2 text tokens before the image
      expect(maxAbsDiff(other.logits.subarray((ids.length - 1) * V), full.logits.subarray((ids.length - 1) * V))).toBeGreaterThan(1e-6);
    });

    it('GQA equals full multi-head attention with each kv head repeated consecutively (repeat_kv)', () => {
      const { m, ids, img } = setup();
      const t = m.config.text;
      const group = t.numHeads / t.numKvHeads;
      expect(group).toBeGreaterThan(1);
      const tensors = new Map(m.tensors);
      const rowLen = t.hiddenSize * t.headDim;
      for (let l = 0; l < t.numLayers; l++) {
        for (const p of ['k_proj', 'v_proj']) {
          for (const [suffix, per] of [['weight', rowLen], ['bias', t.headDim]] as const) {
            const name = `model.language_model.layers.${l}.self_attn.${p}.${suffix}`;
            const w = m.tensors.get(name);
            if (!w) continue;
            const rep = new Float64Array(w.length * group);
            for (let h = 0; h < t.numHeads; h++) rep.set(w.subarray(Math.floor(h / group) * per, (Math.floor(h / group) + 1) * per), h * per);
            tensors.set(name, rep);
          }
        }
      }
      const mha: ReferenceModel = { config: { ...m.config, text: { ...t, numKvHeads: t.numHeads } }, tensors };
      const a = referenceForward(m, { inputIds: ids, images: [img] });
      const b = referenceForward(mha, { inputIds: ids, images: [img] });
      expect(maxAbsDiff(a.logits, b.logits)).toBeLessThan(1e-12);
    });

    it('refuses mismatched image counts and bad patch shapes with the sizes', () => {
      const { m, ids, img, L, H, D } = setup();
      expect(() => referenceForward(m, { inputIds: ids, images: [img, img] })).toThrow(new RegExp(`${m.config.imageSeqLength} image tokens \\(id ${m.config.imageTokenIndex}\\) in the input but 2 image\\(s\\)`));
      expect(() => referenceForward(m, { inputIds: ids, images: [img] }, { patch: { values: new Float64Array(3), mask: new Uint8Array(L * H) } })).toThrow(
        new RegExp(`patch values have 3 elements, expected \\[${L}, ${H}, ${D}\\]`),
      );
      expect(() => referenceForward(m, { inputIds: ids, images: [img.subarray(1)] })).toThrow(/pixel values have \d+ elements, expected \[3, \d+, \d+\]/);
    });
  });
}

describe('reference building blocks against hand-computed values', () => {
  it('RoPE is half-split (rotate_half) with inv_freq = theta^(-2j/d)', () => {
    const d = 4;
    const theta = 100;
    // Two positions, one head: unit vectors in dims 0 and 1.
    const x = new Float64Array([1, 1, 0, 0, 1, 1, 0, 0]);
    applyRope(x, 2, 1, d, theta, 1);
    expect(Array.from(x.subarray(0, 4))).toEqual([1, 1, 0, 0]); // position 0: no rotation
    const f1 = theta ** (-2 / d); // pair (1, 3)
    const want = [Math.cos(1), Math.cos(f1), Math.sin(1), Math.sin(f1)]; // x[j + d/2] picks up +x[j]·sin
    for (let i = 0; i < 4; i++) expect(x[4 + i]).toBeCloseTo(want[i]!, 15);
    const scaled = new Float64Array([1, 0, 0, 0, 1, 0, 0, 0]);
    applyRope(scaled, 2, 1, d, theta, 0.5); // linear scaling: position 1 acts as 0.5
    expect(scaled[4]).toBeCloseTo(Math.cos(0.5), 15);
    expect(scaled[6]).toBeCloseTo(Math.sin(0.5), 15);
  });

  it('patch embedding is a conv [out, C, kH, kW] over row-major patches; CLIP prepends the class token before pre_layrnorm', () => {
    const sig = models.get('siglip-qwen2')!;
    const { hiddenSize: hd, patchSize: p, imageSize: S, numChannels: C } = sig.config.vision;
    const V = 'model.vision_tower.vision_model.embeddings.';
    // Out channel o reads exactly one pixel: channel o % C, kernel row (o >> 2) % p, kernel column o % p.
    const pick = (o: number): [number, number, number] => [o % C, (o >> 2) % p, o % p];
    const conv = new Float64Array(hd * C * p * p);
    for (let o = 0; o < hd; o++) {
      const [c, ky, kx] = pick(o);
      conv[((o * C + c) * p + ky) * p + kx] = 1;
    }
    const tensors = new Map(sig.tensors);
    tensors.set(`${V}patch_embedding.weight`, conv);
    tensors.set(`${V}patch_embedding.bias`, new Float64Array(hd).fill(0.5));
    tensors.set(`${V}position_embedding.weight`, Float64Array.from({ length: sig.config.vision.numPositions * hd }, (_, i) => i));
    const img = image(sig, 3);
    const s0 = referenceVisionHiddenStates({ config: sig.config, tensors }, img)[0]!;
    const grid = S / p;
    for (const [row, col] of [[0, 0], [0, 3], [2, 1], [3, 3]] as const) {
      const t = row * grid + col;
      for (const o of [0, 5, 17, hd - 1]) {
        const [c, ky, kx] = pick(o);
        expect(s0[t * hd + o]).toBe(img[(c * S + row * p + ky) * S + col * p + kx]! + 0.5 + (t * hd + o));
      }
    }

    const clip = models.get('clip-llama')!;
    const W = clip.tensors;
    const cls = W.get(`${V}class_embedding`)!;
    const pos0 = W.get(`${V}position_embedding.weight`)!.subarray(0, cls.length);
    const want = layerNorm(cls.map((v, i) => v + pos0[i]!), cls.length, W.get('model.vision_tower.vision_model.pre_layrnorm.weight')!, W.get('model.vision_tower.vision_model.pre_layrnorm.bias')!, clip.config.vision.layerNormEps);
    const c0 = referenceVisionHiddenStates(clip, image(clip, 3))[0]!;
    expect(maxAbsDiff(c0.subarray(0, cls.length), want)).toBeLessThan(1e-15);
  });
});
