// Float64 reference of Idefics2's connector (Idefics2Connector; VLM_FAMILIES.md 2.4): the SwiGLU
// modality projection from the vision hidden size to the text's, then the perceiver resampler that
// turns each frame's patch features into n_latents rows:
//   lat = latents; for each layer:
//     res = lat; l = RMS_lat(lat); c = RMS_ctx(context)      (context itself never changes)
//     keys/values from concat(c, l): context first, then the latents (mask: patch mask, then ones)
//     q from l; GQA (query head h reads kv head h // (heads / kv heads)); scale head_dim^-0.5; no RoPE
//     lat = res + o_proj(attention); lat = lat + mlp(post_attention_layernorm(lat))
//   out = norm(lat)
import { activate, addInPlace, linear, rmsNorm, softmaxInPlace } from '../../reference/math.js';
import type { Idefics2Config } from './config.js';
import { IDEFICS2_PERCEIVER_PREFIX, IDEFICS2_PROJECTION_PREFIX } from './weights.js';

type Tensors = ReadonlyMap<string, Float64Array>;

function tensor(tensors: Tensors, name: string): Float64Array {
  const t = tensors.get(name);
  if (!t) throw new Error(`reference: weight '${name}' is not loaded`);
  return t;
}

/** Idefics2MLP: down(act(gate x) * up x), no biases; x is [n, in]. */
function swiglu(tensors: Tensors, prefix: string, x: Float64Array, n: number, inner: number, outDim: number, act: Idefics2Config['text']['hiddenAct']): Float64Array {
  const gate = activate(act, linear(x, n, tensor(tensors, `${prefix}gate_proj.weight`), inner));
  const up = linear(x, n, tensor(tensors, `${prefix}up_proj.weight`), inner);
  for (let i = 0; i < gate.length; i++) gate[i]! *= up[i]!;
  return linear(gate, n, tensor(tensors, `${prefix}down_proj.weight`), outDim);
}

/** modality_projection: [rows, vision hidden] -> [rows, text hidden], with the text model's activation. */
export function referenceIdefics2Projection(tensors: Tensors, config: Idefics2Config, x: Float64Array, rows: number): Float64Array {
  return swiglu(tensors, IDEFICS2_PROJECTION_PREFIX, x, rows, config.text.intermediateSize, config.text.hiddenSize, config.text.hiddenAct);
}

/** Perceiver cross-attention of latents [L, D] over keys/values concat(context [S, D], latents); masked context keys are skipped. */
function perceiverAttention(tensors: Tensors, prefix: string, config: Idefics2Config, lat: Float64Array, ctx: Float64Array, S: number, valid: Uint8Array): Float64Array {
  const { numHeads, numKvHeads, headDim, nLatents: L } = config.perceiver;
  const D = config.perceiver.hiddenSize;
  const qDim = numHeads * headDim;
  const kvDim = numKvHeads * headDim;
  const kvIn = new Float64Array((S + L) * D);
  kvIn.set(ctx, 0);
  kvIn.set(lat, S * D);
  const q = linear(lat, L, tensor(tensors, `${prefix}q_proj.weight`), qDim);
  const k = linear(kvIn, S + L, tensor(tensors, `${prefix}k_proj.weight`), kvDim);
  const v = linear(kvIn, S + L, tensor(tensors, `${prefix}v_proj.weight`), kvDim);
  // The additive mask is finfo.min on padded context keys: after softmax their weight is exactly 0, so
  // they are left out; the latent keys are never masked, so a row always has keys.
  const keys: number[] = [];
  for (let j = 0; j < S; j++) if (valid[j]) keys.push(j);
  for (let j = S; j < S + L; j++) keys.push(j);
  const group = numHeads / numKvHeads;
  const scale = 1 / Math.sqrt(headDim);
  const out = new Float64Array(L * qDim);
  const scores = new Float64Array(keys.length);
  for (let h = 0; h < numHeads; h++) {
    const qo = h * headDim;
    const ko = Math.floor(h / group) * headDim;
    for (let i = 0; i < L; i++) {
      keys.forEach((j, t) => {
        let s = 0;
        for (let e = 0; e < headDim; e++) s += q[i * qDim + qo + e]! * k[j * kvDim + ko + e]!;
        scores[t] = s * scale;
      });
      softmaxInPlace(scores, keys.length);
      keys.forEach((j, t) => {
        for (let e = 0; e < headDim; e++) out[i * qDim + qo + e]! += scores[t]! * v[j * kvDim + ko + e]!;
      });
    }
  }
  return linear(out, L, tensor(tensors, `${prefix}o_proj.weight`), D);
}

/** The perceiver resampler on one frame: context [S, D] (projected features), valid [S] (patch mask) -> [n_latents, D]. */
export function referenceIdefics2Perceiver(tensors: Tensors, config: Idefics2Config, context: Float64Array, S: number, valid: Uint8Array): Float64Array {
  const p = config.perceiver;
  const D = p.hiddenSize;
  if (context.length !== S * D) throw new Error(`reference Idefics2 perceiver: context has ${context.length} values, [${S}, ${D}] needs ${S * D}`);
  if (valid.length !== S) throw new Error(`reference Idefics2 perceiver: mask has ${valid.length} entries, context has ${S} rows`);
  const P = IDEFICS2_PERCEIVER_PREFIX;
  let lat: Float64Array = tensor(tensors, `${P}latents`).slice();
  for (let i = 0; i < p.depth; i++) {
    const L = `${P}layers.${i}.`;
    const w = (s: string): Float64Array => tensor(tensors, `${L}${s}.weight`);
    const l = rmsNorm(lat, D, w('input_latents_norm'), p.rmsNormEps);
    const c = rmsNorm(context, D, w('input_context_norm'), p.rmsNormEps);
    addInPlace(lat, perceiverAttention(tensors, `${L}self_attn.`, config, l, c, S, valid));
    const x = rmsNorm(lat, D, w('post_attention_layernorm'), p.rmsNormEps);
    lat = addInPlace(lat, swiglu(tensors, `${L}mlp.`, x, p.nLatents, p.intermediateSize, D, p.hiddenAct));
  }
  return rmsNorm(lat, D, tensor(tensors, `${P}norm.weight`), p.rmsNormEps);
}

/**
 * Idefics2Connector on vision outputs [n, S, vision hidden] with the patch mask [n, S]:
 * [n * n_latents, text hidden], frame after frame.
 */
export function referenceIdefics2Connector(tensors: Tensors, config: Idefics2Config, visionOut: Float64Array, n: number, S: number, patchMask: Uint8Array): Float64Array {
  const Hv = config.vision.hiddenSize;
  if (visionOut.length !== n * S * Hv) throw new Error(`reference Idefics2 connector: vision output has ${visionOut.length} values, [${n}, ${S}, ${Hv}] needs ${n * S * Hv}`);
  if (patchMask.length !== n * S) throw new Error(`reference Idefics2 connector: patch mask has ${patchMask.length} entries, [${n}, ${S}] needs ${n * S}`);
  const L = config.perceiver.nLatents;
  const D = config.perceiver.hiddenSize;
  const ctx = referenceIdefics2Projection(tensors, config, visionOut, n * S);
  const out = new Float64Array(n * L * D);
  for (let f = 0; f < n; f++) {
    const frame = referenceIdefics2Perceiver(tensors, config, ctx.subarray(f * S * D, (f + 1) * S * D), S, patchMask.subarray(f * S, (f + 1) * S));
    out.set(frame, f * L * D);
  }
  return out;
}
