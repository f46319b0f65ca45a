// Float64 reference of LLaVA's vision tower (CLIP / SigLIP) and multimodal projector
// (VLM_FORMATS.md 1.5, 2.1).
import { activate, addInPlace, layerNorm, linear, softmaxInPlace } from '../../reference/math.js';
import { optionalWeight, weight, type ReferenceModel as AnyReferenceModel } from '../../reference/model.js';
import type { PixelBatch } from '../types.js';
import type { LlavaConfig } from './config.js';
import { PROJECTOR_PREFIX, VISION_PREFIX } from './weights.js';

type ReferenceModel = AnyReferenceModel<LlavaConfig>;

/** Bidirectional multi-head attention with biased q/k/v/out projections; x is [n, d]. */
function selfAttention(model: ReferenceModel, prefix: string, x: Float64Array, n: number): Float64Array {
  const { hiddenSize: d, numHeads, headDim } = model.config.vision;
  const w = (p: string): Float64Array => weight(model, `${prefix}self_attn.${p}`);
  const q = linear(x, n, w('q_proj.weight'), d, w('q_proj.bias'));
  const k = linear(x, n, w('k_proj.weight'), d, w('k_proj.bias'));
  const v = linear(x, n, w('v_proj.weight'), d, w('v_proj.bias'));
  const scale = 1 / Math.sqrt(headDim);
  const out = new Float64Array(n * d);
  const scores = new Float64Array(n);
  for (let h = 0; h < numHeads; h++) {
    const off = h * headDim;
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let e = 0; e < headDim; e++) s += q[i * d + off + e]! * k[j * d + off + e]!;
        scores[j] = s * scale;
      }
      softmaxInPlace(scores, n);
      for (let j = 0; j < n; j++) for (let e = 0; e < headDim; e++) out[i * d + off + e]! += scores[j]! * v[j * d + off + e]!;
    }
  }
  return linear(out, n, w('out_proj.weight'), d, w('out_proj.bias'));
}

/** Pre-LN encoder layer: h += attn(LN1(h)); h += fc2(act(fc1(LN2(h)))). */
function encoderLayer(model: ReferenceModel, i: number, h: Float64Array, n: number): Float64Array {
  const { hiddenSize: d, intermediateSize, hiddenAct, layerNormEps: eps } = model.config.vision;
  const p = `${VISION_PREFIX}encoder.layers.${i}.`;
  const w = (s: string): Float64Array => weight(model, p + s);
  addInPlace(h, selfAttention(model, p, layerNorm(h, d, w('layer_norm1.weight'), w('layer_norm1.bias'), eps), n));
  const x = layerNorm(h, d, w('layer_norm2.weight'), w('layer_norm2.bias'), eps);
  const mid = activate(hiddenAct, linear(x, n, w('mlp.fc1.weight'), intermediateSize, w('mlp.fc1.bias')));
  return addInPlace(h, linear(mid, n, w('mlp.fc2.weight'), d, w('mlp.fc2.bias')));
}

/**
 * The vision hidden_states tuple up to the one LLaVA selects: states[0] is the embeddings output
 * (after CLIP's pre_layrnorm), states[k] the output of layer k-1. Each is [numPositions, hidden].
 * `pixels` is one normalised image, [channels, imageSize, imageSize].
 */
export function referenceVisionHiddenStates(model: ReferenceModel, pixels: Float64Array): Float64Array[] {
  const c = model.config.vision;
  const { hiddenSize: d, patchSize: p, imageSize: S, numChannels: C } = c;
  if (pixels.length !== C * S * S) throw new Error(`reference vision: pixel values have ${pixels.length} elements, expected [${C}, ${S}, ${S}] = ${C * S * S}`);
  const grid = Math.floor(S / p); // "valid" conv: trailing pixels that do not fill a patch are ignored
  const n = c.numPositions;
  const first = c.classToken ? 1 : 0;
  const conv = weight(model, `${VISION_PREFIX}embeddings.patch_embedding.weight`); // [d, C, p, p]
  const convBias = optionalWeight(model, `${VISION_PREFIX}embeddings.patch_embedding.bias`);
  const h = new Float64Array(n * d);
  if (c.classToken) h.set(weight(model, `${VISION_PREFIX}embeddings.class_embedding`), 0);
  for (let row = 0; row < grid; row++) {
    for (let col = 0; col < grid; col++) {
      const t = first + row * grid + col; // tokens in row-major patch order
      for (let o = 0; o < d; o++) {
        let s = convBias ? convBias[o]! : 0;
        for (let ch = 0; ch < C; ch++)
          for (let ky = 0; ky < p; ky++)
            for (let kx = 0; kx < p; kx++) s += conv[((o * C + ch) * p + ky) * p + kx]! * pixels[(ch * S + row * p + ky) * S + col * p + kx]!;
        h[t * d + o] = s;
      }
    }
  }
  addInPlace(h, weight(model, `${VISION_PREFIX}embeddings.position_embedding.weight`));
  let state = c.preLayerNorm ? layerNorm(h, d, weight(model, `${VISION_PREFIX}pre_layrnorm.weight`), weight(model, `${VISION_PREFIX}pre_layrnorm.bias`), c.layerNormEps) : h;
  const states = [state];
  for (let i = 0; i < model.config.visionHiddenStateIndex; i++) {
    state = encoderLayer(model, i, state.slice(), n);
    states.push(state);
  }
  return states;
}

/** hidden_states[vision_feature_layer] with the select strategy applied: [tokens, vision hidden]. */
export function referenceVisionFeatures(model: ReferenceModel, pixels: Float64Array): Float64Array {
  const states = referenceVisionHiddenStates(model, pixels);
  const selected = states[model.config.visionHiddenStateIndex]!;
  // "default" drops the first token (CLIP's CLS), "full" keeps all.
  return model.config.visionFeatureSelectStrategy === 'default' ? selected.slice(model.config.vision.hiddenSize) : selected;
}

/** linear_2(act(linear_1(x))): image features in the text hidden size, [imageSeqLength, text hidden]. */
export function referenceImageFeatures(model: ReferenceModel, pixels: Float64Array): Float64Array {
  const { config } = model;
  const x = referenceVisionFeatures(model, pixels);
  const n = config.imageSeqLength;
  const H = config.text.hiddenSize;
  const w = (s: string): Float64Array | undefined => optionalWeight(model, PROJECTOR_PREFIX + s);
  const mid = activate(config.projectorHiddenAct, linear(x, n, weight(model, `${PROJECTOR_PREFIX}linear_1.weight`), H, w('linear_1.bias')));
  return linear(mid, n, weight(model, `${PROJECTOR_PREFIX}linear_2.weight`), H, w('linear_2.bias'));
}

/** The features of every image of a batch [n, C, S, S], concatenated: [n * imageSeqLength, text hidden]. */
export function referenceLlavaImageFeatures(model: ReferenceModel, pixels: { data: Float64Array; shape: PixelBatch['shape'] }): Float64Array {
  const [n, C, Hh, W] = pixels.shape;
  const size = C * Hh * W;
  const rows = model.config.imageSeqLength * model.config.text.hiddenSize;
  const out = new Float64Array(n * rows);
  for (let i = 0; i < n; i++) out.set(referenceImageFeatures(model, pixels.data.subarray(i * size, (i + 1) * size)), i * rows);
  return out;
}
