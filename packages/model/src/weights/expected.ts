// The decoder's tensors with their shapes, computed from the text config (VLM_FORMATS.md 3.4): the
// part of every family's expected-tensor list that the shared decoder reads. Names are canonical.
import type { TextConfig, VisionConfig } from '../config/types.js';
import type { ExpectedTensor } from '../families/types.js';
import { LM_HEAD, TEXT_PREFIX } from './names.js';

export type { ExpectedTensor };

export function textExpectedTensors(t: TextConfig, tieWordEmbeddings: boolean): ExpectedTensor[] {
  const out: ExpectedTensor[] = [];
  const add = (name: string, shape: number[], required = true): void => void out.push({ name, shape, required });
  const H = t.hiddenSize;
  const qDim = t.numHeads * t.headDim;
  const kvDim = t.numKvHeads * t.headDim;
  const T = TEXT_PREFIX;
  add(`${T}embed_tokens.weight`, [t.vocabSize, H]);
  for (let i = 0; i < t.numLayers; i++) {
    const L = `${T}layers.${i}.`;
    add(`${L}input_layernorm.weight`, [H]);
    for (const [proj, dim] of [['q_proj', qDim], ['k_proj', kvDim], ['v_proj', kvDim]] as const) {
      add(`${L}self_attn.${proj}.weight`, [dim, H]);
      if (t.qkvBias) add(`${L}self_attn.${proj}.bias`, [dim]);
    }
    add(`${L}self_attn.o_proj.weight`, [H, qDim]);
    if (t.oBias) add(`${L}self_attn.o_proj.bias`, [H]);
    add(`${L}post_attention_layernorm.weight`, [H]);
    add(`${L}mlp.gate_proj.weight`, [t.intermediateSize, H]);
    add(`${L}mlp.up_proj.weight`, [t.intermediateSize, H]);
    add(`${L}mlp.down_proj.weight`, [H, t.intermediateSize]);
    if (t.mlpBias) {
      add(`${L}mlp.gate_proj.bias`, [t.intermediateSize]);
      add(`${L}mlp.up_proj.bias`, [t.intermediateSize]);
      add(`${L}mlp.down_proj.bias`, [H]);
    }
  }
  add(`${T}norm.weight`, [H]);
  add(LM_HEAD, [t.vocabSize, H], !tieWordEmbeddings);
  return out;
}

/**
 * A CLIP / SigLIP-layout vision tower's tensors under `prefix` (LLaVA, Idefics, VILA): patch conv (bias
 * for SigLIP), class embedding (CLIP), position table, pre_layrnorm (CLIP), the encoder layers (those
 * at or past `usedLayers` are never run: not required), post_layernorm (required when the family reads it).
 */
export function vitExpectedTensors(v: VisionConfig, prefix: string, opts: { usedLayers?: number; postLayerNorm: boolean }): ExpectedTensor[] {
  const out: ExpectedTensor[] = [];
  const add = (name: string, shape: number[], required = true): void => void out.push({ name, shape, required });
  const Hv = v.hiddenSize;
  const V = prefix;
  add(`${V}embeddings.patch_embedding.weight`, [Hv, v.numChannels, v.patchSize, v.patchSize]);
  if (v.patchBias) add(`${V}embeddings.patch_embedding.bias`, [Hv]);
  if (v.classToken) add(`${V}embeddings.class_embedding`, [Hv]);
  add(`${V}embeddings.position_embedding.weight`, [v.numPositions, Hv]);
  if (v.preLayerNorm) for (const p of ['weight', 'bias']) add(`${V}pre_layrnorm.${p}`, [Hv]);
  for (let i = 0; i < v.numLayers; i++) {
    const used = i < (opts.usedLayers ?? v.numLayers);
    const L = `${V}encoder.layers.${i}.`;
    for (const p of ['weight', 'bias']) {
      add(`${L}layer_norm1.${p}`, [Hv], used);
      add(`${L}layer_norm2.${p}`, [Hv], used);
    }
    for (const proj of ['q_proj', 'k_proj', 'v_proj', 'out_proj']) {
      add(`${L}self_attn.${proj}.weight`, [Hv, Hv], used);
      add(`${L}self_attn.${proj}.bias`, [Hv], used);
    }
    add(`${L}mlp.fc1.weight`, [v.intermediateSize, Hv], used);
    add(`${L}mlp.fc1.bias`, [v.intermediateSize], used);
    add(`${L}mlp.fc2.weight`, [Hv, v.intermediateSize], used);
    add(`${L}mlp.fc2.bias`, [Hv], used);
  }
  for (const p of ['weight', 'bias']) add(`${V}post_layernorm.${p}`, [Hv], opts.postLayerNorm);
  return out;
}
