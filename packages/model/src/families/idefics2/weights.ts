// Idefics2 tensor names and shapes (VLM_FAMILIES.md 2.2). On disk: model.vision_model.*,
// model.connector.{modality_projection,perceiver_resampler}.*, model.text_model.* (a MistralModel) and
// lm_head.weight. Canonically the decoder lives under model.language_model.* (what the shared decoder
// reads); every other name is kept as on disk. The naming is Idefics3's (the same modules), so its
// mapping is reused.
import { textExpectedTensors } from '../../weights/expected.js';
import { idefics3CanonicalName, idefics3DiskName, ideficsVisionExpectedTensors } from '../idefics3/weights.js';
import type { ExpectedTensor } from '../types.js';
import type { Idefics2Config } from './config.js';

export const IDEFICS2_VISION_PREFIX = 'model.vision_model.';
export const IDEFICS2_PROJECTION_PREFIX = 'model.connector.modality_projection.';
export const IDEFICS2_PERCEIVER_PREFIX = 'model.connector.perceiver_resampler.';
export const IDEFICS2_TEXT_DISK_PREFIX = 'model.text_model.';
/** Canonical name of an on-disk Idefics2 tensor name, or null when it is not an Idefics2 name. */
export const idefics2CanonicalName = idefics3CanonicalName;

/** The on-disk (published) name of a canonical name. */
export const idefics2DiskName = idefics3DiskName;

/** Every tensor an Idefics2 checkpoint holds, by canonical name, with its shape. */
export function idefics2ExpectedTensors(c: Idefics2Config): ExpectedTensor[] {
  const out: ExpectedTensor[] = [];
  const add = (name: string, shape: number[], required = true): void => void out.push({ name, shape, required });
  const t = c.text;
  const Hv = c.vision.hiddenSize;
  const H = t.hiddenSize;
  // Idefics2Connector.modality_projection: Idefics2MLP(vision hidden -> text intermediate -> text hidden).
  add(`${IDEFICS2_PROJECTION_PREFIX}gate_proj.weight`, [t.intermediateSize, Hv]);
  add(`${IDEFICS2_PROJECTION_PREFIX}up_proj.weight`, [t.intermediateSize, Hv]);
  add(`${IDEFICS2_PROJECTION_PREFIX}down_proj.weight`, [H, t.intermediateSize]);

  const p = c.perceiver;
  const Hp = p.hiddenSize;
  const P = IDEFICS2_PERCEIVER_PREFIX;
  add(`${P}latents`, [p.nLatents, Hp]);
  for (let i = 0; i < p.depth; i++) {
    const L = `${P}layers.${i}.`;
    for (const norm of ['input_latents_norm', 'input_context_norm', 'post_attention_layernorm']) add(`${L}${norm}.weight`, [Hp]);
    add(`${L}self_attn.q_proj.weight`, [p.numHeads * p.headDim, Hp]);
    add(`${L}self_attn.k_proj.weight`, [p.numKvHeads * p.headDim, Hp]);
    add(`${L}self_attn.v_proj.weight`, [p.numKvHeads * p.headDim, Hp]);
    add(`${L}self_attn.o_proj.weight`, [Hp, p.numHeads * p.headDim]);
    add(`${L}mlp.gate_proj.weight`, [p.intermediateSize, Hp]);
    add(`${L}mlp.up_proj.weight`, [p.intermediateSize, Hp]);
    add(`${L}mlp.down_proj.weight`, [Hp, p.intermediateSize]);
  }
  add(`${P}norm.weight`, [Hp]);

  // The decoder, with the rules of the shared text tensors (weights/expected.ts).
  return [...ideficsVisionExpectedTensors(c.vision, IDEFICS2_VISION_PREFIX), ...out, ...textExpectedTensors(c.text, c.tieWordEmbeddings)];
}
