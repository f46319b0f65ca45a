// Idefics2's vision tower + connector on the GPU (VLM_FAMILIES.md 2.3, 2.4): the shared Idefics tower
// ("all pixels valid" patches), the SwiGLU modality projection, then the perceiver resampler: per
// frame, n_latents latents attend (no RoPE, GQA) over [the frame's valid context rows, the latents],
// with separate RMSNorms for latents and context, a SwiGLU MLP, and a final RMSNorm.
import { add, attention, binary, embedding, rmsnorm, scatterRows, type Recorder, type Tensor } from '@mtv/kernels';
import type { Activation } from '../../config/types.js';
import { activation, linear, temp } from '../../runtime/layers.js';
import { ideficsTower, uploadIdeficsTower, type IdeficsTowerWeights } from '../idefics3/tower.js';
import type { PixelBatch, WeightUploader } from '../types.js';
import type { Idefics2Config } from './config.js';
import { idefics2PositionIds } from './position-ids.js';
import { IDEFICS2_PERCEIVER_PREFIX, IDEFICS2_PROJECTION_PREFIX, IDEFICS2_VISION_PREFIX } from './weights.js';

interface Mlp { gate: Tensor; up: Tensor; down: Tensor }

interface PerceiverLayer {
  latentsNorm: Tensor; contextNorm: Tensor; postNorm: Tensor;
  q: Tensor; k: Tensor; v: Tensor; o: Tensor;
  mlp: Mlp;
}

export interface Idefics2VisionWeights {
  tower: IdeficsTowerWeights;
  projection: Mlp;
  /** [n_latents, hidden]: the starting latents of every frame (never written: each layer's add makes a new tensor). */
  latents: Tensor;
  layers: PerceiverLayer[];
  norm: Tensor;
}

const mlpOf = async (up: WeightUploader, p: string): Promise<Mlp> => ({ gate: await up.mat(`${p}gate_proj.weight`), up: await up.mat(`${p}up_proj.weight`), down: await up.mat(`${p}down_proj.weight`) });

export async function uploadIdefics2Vision(up: WeightUploader, c: Idefics2Config): Promise<Idefics2VisionWeights> {
  const P = IDEFICS2_PERCEIVER_PREFIX;
  const layers: PerceiverLayer[] = [];
  for (let i = 0; i < c.perceiver.depth; i++) {
    const L = `${P}layers.${i}.`;
    layers.push({
      latentsNorm: await up.f32(`${L}input_latents_norm.weight`),
      contextNorm: await up.f32(`${L}input_context_norm.weight`),
      postNorm: await up.f32(`${L}post_attention_layernorm.weight`),
      q: await up.mat(`${L}self_attn.q_proj.weight`), k: await up.mat(`${L}self_attn.k_proj.weight`),
      v: await up.mat(`${L}self_attn.v_proj.weight`), o: await up.mat(`${L}self_attn.o_proj.weight`),
      mlp: await mlpOf(up, `${L}mlp.`),
    });
  }
  return {
    tower: await uploadIdeficsTower(up, IDEFICS2_VISION_PREFIX, c.vision),
    projection: await mlpOf(up, IDEFICS2_PROJECTION_PREFIX),
    latents: await up.f32(`${P}latents`),
    layers,
    norm: await up.f32(`${P}norm.weight`),
  };
}

/** down(act(gate x) * up x), no biases (Idefics2MLP). */
async function gatedMlp(rec: Recorder, x: Tensor, w: Mlp, act: Activation): Promise<Tensor> {
  const g = await linear(rec, x, w.gate, null);
  const u = await linear(rec, x, w.up, null);
  const m = act === 'silu' ? temp(rec, await binary(rec, 'silu_mul', g, u)) : temp(rec, await binary(rec, 'mul', await activation(rec, act, g), u));
  return linear(rec, m, w.down, null);
}

export async function idefics2ImageFeatures(rec: Recorder, w: Idefics2VisionWeights, c: Idefics2Config, pixels: PixelBatch): Promise<Tensor> {
  const gpu = rec.gpu;
  const t = await ideficsTower(rec, w.tower, c.vision, pixels, 'all', idefics2PositionIds);
  const G = t.gridH * t.gridW;
  const p = c.perceiver;
  const Hp = p.hiddenSize;
  const nL = p.nLatents;
  const context = await gatedMlp(rec, t.x, w.projection, c.text.hiddenAct);
  const out = gpu.empty([t.frames * nL, Hp], 'f32', 'idefics2 image features');
  try {
    for (let f = 0; f < t.frames; f++) {
      // Padded patches are masked out of the keys: only the frame's valid context rows are kept.
      const ctx = temp(rec, await embedding(rec, context, t.valid[f]!.map((j) => f * G + j)));
      const nC = ctx.shape[0]!;
      let lat = w.latents;
      for (const L of w.layers) {
        const l = temp(rec, await rmsnorm(rec, lat, L.latentsNorm, p.rmsNormEps));
        const cn = temp(rec, await rmsnorm(rec, ctx, L.contextNorm, p.rmsNormEps));
        // keys and values over [context, latents], context first
        const kvIn = temp(rec, gpu.empty([nC + nL, Hp], 'f32', 'perceiver kv input'));
        await scatterRows(rec, kvIn, cn, Int32Array.from({ length: nC }, (_, j) => j));
        await scatterRows(rec, kvIn, l, Int32Array.from({ length: nL }, (_, j) => nC + j));
        const q = await linear(rec, l, L.q, null);
        const k = await linear(rec, kvIn, L.k, null);
        const v = await linear(rec, kvIn, L.v, null);
        const a = temp(rec, await attention(rec, {
          q: q.reshape([1, nL, p.numHeads, p.headDim]),
          kSuf: k.reshape([1, nC + nL, p.numKvHeads, p.headDim]),
          vSuf: v.reshape([1, nC + nL, p.numKvHeads, p.headDim]),
          causal: false,
        }));
        const x2 = temp(rec, await add(rec, lat, await linear(rec, a.reshape([nL, p.numHeads * p.headDim]), L.o, null)));
        const h = temp(rec, await rmsnorm(rec, x2, L.postNorm, p.rmsNormEps));
        lat = temp(rec, await add(rec, x2, await gatedMlp(rec, h, L.mlp, p.hiddenAct)));
      }
      const normed = temp(rec, await rmsnorm(rec, lat, w.norm, p.rmsNormEps));
      await scatterRows(rec, out, normed, Int32Array.from({ length: nL }, (_, j) => f * nL + j));
    }
  } catch (e) {
    out.release();
    throw e;
  }
  // The caller owns the features (the context is released after submit, as every linear output).
  return out;
}
