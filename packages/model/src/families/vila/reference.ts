// Float64 image features of VILA-1.5 (LlavaMetaModel.encode_images): the SigLIP tower's
// hidden_states[mm_vision_select_layer] (LLaVA's float64 tower, the same SiglipVisionModel), feature
// selection, then MultimodalProjector written step by step from VILA1.5's base_projector.py: for
// mlp_downsample, DownSampleBlock as its tensor operations (reshape to a square grid, zero-pad odd
// rows/columns, view(n, w, h/2, 2c), permute(0, 2, 1, 3), view(n, h/2, w/2, 4c), flatten), then
// LayerNorm(eps 1e-5), Linear, GELU (erf), Linear.
import { activate, layerNorm, linear } from '../../reference/math.js';
import type { LlavaConfig } from '../llava/config.js';
import { referenceVisionHiddenStates } from '../llava/reference.js';
import type { PixelBatch, ReferenceTensors } from '../types.js';
import type { VilaConfig } from './config.js';
import { VILA_PROJECTOR_PREFIX } from './weights.js';

const get = (tensors: ReadonlyMap<string, Float64Array>, name: string): Float64Array => {
  const t = tensors.get(name);
  if (!t) throw new Error(`reference VILA: weight '${name}' is not loaded`);
  return t;
};

/** The selected vision hidden state of one image [visionTokens, vision hidden] (no post_layernorm). */
export function referenceVilaVisionFeatures(model: ReferenceTensors<VilaConfig>, pixels: Float64Array): Float64Array {
  const c = model.config;
  // LLaVA's float64 SigLIP tower reads only `vision` and `visionHiddenStateIndex` of its config, and the
  // tensors under model.vision_tower.vision_model.*, which are VILA's canonical names too.
  const tower = { config: { vision: c.vision, visionHiddenStateIndex: c.visionHiddenStateIndex } as unknown as LlavaConfig, tensors: model.tensors };
  const state = referenceVisionHiddenStates(tower, pixels)[c.visionHiddenStateIndex]!;
  return c.visionSelectFeature === 'patch' ? state.slice(c.vision.hiddenSize) : state;
}

/**
 * DownSampleBlock on one image's tokens [s * s, C] -> [ceil(s/2)^2, 4C], as the torch ops do it: each
 * view is a reinterpretation of the contiguous buffer, each permute a copy in the new order.
 */
export function referenceDownSample(x: Float64Array, tokens: number, C: number): Float64Array {
  const s = Math.floor(Math.sqrt(tokens)); // h = w = int(n ** 0.5)
  if (s * s !== tokens) throw new Error(`reference VILA: ${tokens} tokens are not a square grid`);
  // reshape(1, s, s, C), named (n, w, h, c) in flat_square; pad dim 1, then dim 2, with zeros
  const w = s + (s % 2);
  const h = s + (s % 2);
  const padded = new Float64Array(w * h * C);
  for (let a = 0; a < s; a++) for (let b = 0; b < s; b++) padded.set(x.subarray((a * s + b) * C, (a * s + b + 1) * C), (a * h + b) * C);
  // view(w, h/2, 2C) is the same buffer; permute(0, 2, 1, 3) -> [h/2, w, 2C]
  const h2 = h / 2;
  const permuted = new Float64Array(w * h * C);
  for (let j = 0; j < h2; j++)
    for (let a = 0; a < w; a++) {
      const src = (a * h2 + j) * 2 * C;
      permuted.set(padded.subarray(src, src + 2 * C), (j * w + a) * 2 * C);
    }
  // view(h/2, w/2, 4C), then reshape(-1, 4C): the same buffer again
  return permuted;
}

/** The projector on one image's selected features [visionTokens, vision hidden] -> [imageSeqLength, text hidden]. */
export function referenceVilaProjector(model: ReferenceTensors<VilaConfig>, feats: Float64Array): Float64Array {
  const c = model.config;
  const Dv = c.vision.hiddenSize;
  const D = c.text.hiddenSize;
  const t = model.tensors;
  const L = `${VILA_PROJECTOR_PREFIX}layers.`;
  const p = c.projector;
  if (p.type === 'mlp_downsample') {
    const x = referenceDownSample(feats, c.visionTokens, Dv);
    const m = c.imageSeqLength;
    const normed = layerNorm(x, 4 * Dv, get(t, `${L}1.weight`), get(t, `${L}1.bias`), c.projectorLayerNormEps);
    const mid = activate('gelu', linear(normed, m, get(t, `${L}2.weight`), D, get(t, `${L}2.bias`)));
    return linear(mid, m, get(t, `${L}4.weight`), D, get(t, `${L}4.bias`));
  }
  const m = c.visionTokens;
  if (p.type === 'linear') return linear(feats, m, get(t, `${L}weight`), D, get(t, `${L}bias`));
  let h = linear(feats, m, get(t, `${L}0.weight`), D, get(t, `${L}0.bias`));
  for (let k = 1; k < p.depth; k++) h = linear(activate('gelu', h), m, get(t, `${L}${2 * k}.weight`), D, get(t, `${L}${2 * k}.bias`));
  return h;
}

/** [n * imageSeqLength, text hidden]: the features of every image of the batch, in order. */
export function referenceVilaImageFeatures(model: ReferenceTensors<VilaConfig>, pixels: { data: Float64Array; shape: PixelBatch['shape'] }): Float64Array {
  const c = model.config;
  const [n, C, Hh, W] = pixels.shape;
  const S = c.vision.imageSize;
  if (C !== c.vision.numChannels || Hh !== S || W !== S) throw new Error(`reference VILA: pixels are [${pixels.shape.join(', ')}], the tower takes [n, ${c.vision.numChannels}, ${S}, ${S}]`);
  const size = C * S * S;
  const rows = c.imageSeqLength * c.text.hiddenSize;
  const out = new Float64Array(n * rows);
  for (let i = 0; i < n; i++) {
    const feats = referenceVilaVisionFeatures(model, pixels.data.subarray(i * size, (i + 1) * size));
    out.set(referenceVilaProjector(model, feats), i * rows);
  }
  return out;
}
