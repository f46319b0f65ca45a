// Every tensor a LLaVA checkpoint must (or may) hold, with its shape, computed from the config
// (VLM_FORMATS.md 1.3, 1.4, 2.2, 3.4). Names are canonical (see names.ts).
import type { LlavaConfig } from '../config/types.js';
import { LM_HEAD, PROJECTOR_PREFIX, TEXT_PREFIX, VISION_PREFIX } from './names.js';

export interface ExpectedTensor {
  name: string;
  shape: number[];
  /** False for tensors LLaVA never reads: vision layers past the selected hidden state, post_layernorm, a tied lm_head. */
  required: boolean;
}

export function expectedTensors(c: LlavaConfig): ExpectedTensor[] {
  const out: ExpectedTensor[] = [];
  const add = (name: string, shape: number[], required = true): void => void out.push({ name, shape, required });

  const v = c.vision;
  const Hv = v.hiddenSize;
  const V = VISION_PREFIX;
  add(`${V}embeddings.patch_embedding.weight`, [Hv, v.numChannels, v.patchSize, v.patchSize]);
  if (v.patchBias) add(`${V}embeddings.patch_embedding.bias`, [Hv]);
  if (v.classToken) add(`${V}embeddings.class_embedding`, [Hv]);
  add(`${V}embeddings.position_embedding.weight`, [v.numPositions, Hv]);
  if (v.preLayerNorm) for (const p of ['weight', 'bias']) add(`${V}pre_layrnorm.${p}`, [Hv]);
  for (let i = 0; i < v.numLayers; i++) {
    // hidden_states[k] is the output of layer k-1: layers at or past the selected index are never run.
    const used = i < c.visionHiddenStateIndex;
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
  for (const p of ['weight', 'bias']) add(`${V}post_layernorm.${p}`, [Hv], false);

  const t = c.text;
  const H = t.hiddenSize;
  const qDim = t.numHeads * t.headDim;
  const kvDim = t.numKvHeads * t.headDim;
  add(`${PROJECTOR_PREFIX}linear_1.weight`, [H, Hv]);
  if (c.projectorBias) add(`${PROJECTOR_PREFIX}linear_1.bias`, [H]);
  add(`${PROJECTOR_PREFIX}linear_2.weight`, [H, H]);
  if (c.projectorBias) add(`${PROJECTOR_PREFIX}linear_2.bias`, [H]);

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
  add(LM_HEAD, [t.vocabSize, H], !c.tieWordEmbeddings);
  return out;
}
