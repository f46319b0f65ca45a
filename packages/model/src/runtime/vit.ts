// The pre-LN ViT encoder layer that CLIP, SigLIP and the Idefics towers share (VLM_FAMILIES.md 0.2):
//   x += out_proj(MHA(LN1 x)); x += fc2(act(fc1(LN2 x))), biased q/k/v/out, no causal mask.
// Families upload their layers with uploadVitLayers and run them with vitLayer.
import { add, attention, layernorm, type Recorder, type Tensor } from '@mtv/kernels';
import type { VisionConfig } from '../config/types.js';
import type { WeightUploader } from '../families/types.js';
import { activation, linear, temp } from './layers.js';

export interface VitLayerWeights {
  ln1w: Tensor; ln1b: Tensor; ln2w: Tensor; ln2b: Tensor;
  q: Tensor; qb: Tensor; k: Tensor; kb: Tensor; v: Tensor; vb: Tensor; o: Tensor; ob: Tensor;
  fc1: Tensor; fc1b: Tensor; fc2: Tensor; fc2b: Tensor;
}

/** Layers 0..count-1 under `prefix` (e.g. 'model.vision_tower.vision_model.encoder.layers.'). */
export async function uploadVitLayers(up: WeightUploader, prefix: string, count: number): Promise<VitLayerWeights[]> {
  const layers: VitLayerWeights[] = [];
  for (let l = 0; l < count; l++) {
    const p = `${prefix}${l}.`;
    layers.push({
      ln1w: await up.f32(`${p}layer_norm1.weight`), ln1b: await up.f32(`${p}layer_norm1.bias`),
      ln2w: await up.f32(`${p}layer_norm2.weight`), ln2b: await up.f32(`${p}layer_norm2.bias`),
      q: await up.mat(`${p}self_attn.q_proj.weight`), qb: await up.f32(`${p}self_attn.q_proj.bias`),
      k: await up.mat(`${p}self_attn.k_proj.weight`), kb: await up.f32(`${p}self_attn.k_proj.bias`),
      v: await up.mat(`${p}self_attn.v_proj.weight`), vb: await up.f32(`${p}self_attn.v_proj.bias`),
      o: await up.mat(`${p}self_attn.out_proj.weight`), ob: await up.f32(`${p}self_attn.out_proj.bias`),
      fc1: await up.mat(`${p}mlp.fc1.weight`), fc1b: await up.f32(`${p}mlp.fc1.bias`),
      fc2: await up.mat(`${p}mlp.fc2.weight`), fc2b: await up.f32(`${p}mlp.fc2.bias`),
    });
  }
  return layers;
}

/**
 * Self-attention for `n` sequences of T tokens ([n * T, H] rows). The default attends over all T
 * keys; `attend` replaces it (Idefics masks padded patches out of the keys).
 */
export type VitAttention = (rec: Recorder, q: Tensor, k: Tensor, v: Tensor) => Promise<Tensor>;

/** One encoder layer over x [n * T, H]; returns the new x (a temp of `rec`). */
export async function vitLayer(rec: Recorder, x: Tensor, L: VitLayerWeights, vc: VisionConfig, n: number, T: number, attend?: VitAttention): Promise<Tensor> {
  const H = vc.hiddenSize;
  const D = vc.headDim;
  const heads = vc.numHeads;
  const h = temp(rec, await layernorm(rec, x, L.ln1w, L.ln1b, vc.layerNormEps));
  const q = await linear(rec, h, L.q, L.qb);
  const k = await linear(rec, h, L.k, L.kb);
  const v = await linear(rec, h, L.v, L.vb);
  const o = attend
    ? await attend(rec, q, k, v)
    : temp(rec, await attention(rec, { q: q.reshape([n, T, heads, D]), kSuf: k.reshape([n, T, heads, D]), vSuf: v.reshape([n, T, heads, D]), causal: false }));
  const a = await linear(rec, o.reshape([n * T, heads * D]), L.o, L.ob);
  const x2 = temp(rec, await add(rec, x.reshape([n * T, H]), a));
  const h2 = temp(rec, await layernorm(rec, x2, L.ln2w, L.ln2b, vc.layerNormEps));
  const f = await activation(rec, vc.hiddenAct, await linear(rec, h2, L.fc1, L.fc1b));
  return temp(rec, await add(rec, x2, await linear(rec, f, L.fc2, L.fc2b)));
}
