// The decoder's tensors with their shapes, computed from the text config (VLM_FORMATS.md 3.4): the
// part of every family's expected-tensor list that the shared decoder reads. Names are canonical.
import type { TextConfig } from '../config/types.js';
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
