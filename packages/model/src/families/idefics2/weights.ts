// Idefics2 tensor names and shapes (VLM_FAMILIES.md 2.2). On disk: model.vision_model.*,
// model.connector.{modality_projection,perceiver_resampler}.*, model.text_model.* (a MistralModel) and
// lm_head.weight. Canonically the decoder lives under model.language_model.* (what the shared decoder
// reads); every other name is kept as on disk.
import type { ExpectedTensor } from '../types.js';
import type { Idefics2Config } from './config.js';

export const IDEFICS2_VISION_PREFIX = 'model.vision_model.';
export const IDEFICS2_PROJECTION_PREFIX = 'model.connector.modality_projection.';
export const IDEFICS2_PERCEIVER_PREFIX = 'model.connector.perceiver_resampler.';
export const IDEFICS2_TEXT_DISK_PREFIX = 'model.text_model.';
const TEXT_PREFIX = 'model.language_model.';
const LM_HEAD = 'lm_head.weight';

const KEPT_ROOTS = [IDEFICS2_VISION_PREFIX, 'model.connector.', 'lm_head.'];

/** Canonical name of an on-disk Idefics2 tensor name, or null when it is not an Idefics2 name. */
export function idefics2CanonicalName(diskName: string): string | null {
  if (diskName.startsWith(IDEFICS2_TEXT_DISK_PREFIX)) return TEXT_PREFIX + diskName.slice(IDEFICS2_TEXT_DISK_PREFIX.length);
  return KEPT_ROOTS.some((r) => diskName.startsWith(r)) ? diskName : null;
}

/** The on-disk (published) name of a canonical name. */
export function idefics2DiskName(canonical: string): string {
  return canonical.startsWith(TEXT_PREFIX) ? IDEFICS2_TEXT_DISK_PREFIX + canonical.slice(TEXT_PREFIX.length) : canonical;
}

/** Every tensor an Idefics2 checkpoint holds, by canonical name, with its shape. */
export function idefics2ExpectedTensors(c: Idefics2Config): ExpectedTensor[] {
  const out: ExpectedTensor[] = [];
  const add = (name: string, shape: number[], required = true): void => void out.push({ name, shape, required });

  const v = c.vision;
  const Hv = v.hiddenSize;
  const V = IDEFICS2_VISION_PREFIX;
  add(`${V}embeddings.patch_embedding.weight`, [Hv, v.numChannels, v.patchSize, v.patchSize]);
  add(`${V}embeddings.patch_embedding.bias`, [Hv]);
  add(`${V}embeddings.position_embedding.weight`, [c.numPatchesPerSide ** 2, Hv]);
  for (let i = 0; i < v.numLayers; i++) {
    const L = `${V}encoder.layers.${i}.`;
    for (const p of ['weight', 'bias']) {
      add(`${L}layer_norm1.${p}`, [Hv]);
      add(`${L}layer_norm2.${p}`, [Hv]);
    }
    for (const proj of ['q_proj', 'k_proj', 'v_proj', 'out_proj']) {
      add(`${L}self_attn.${proj}.weight`, [Hv, Hv]);
      add(`${L}self_attn.${proj}.bias`, [Hv]);
    }
    add(`${L}mlp.fc1.weight`, [v.intermediateSize, Hv]);
    add(`${L}mlp.fc1.bias`, [v.intermediateSize]);
    add(`${L}mlp.fc2.weight`, [Hv, v.intermediateSize]);
    add(`${L}mlp.fc2.bias`, [Hv]);
  }
  // Idefics2 takes last_hidden_state, which is post-normed: post_layernorm is used (unlike LLaVA).
  for (const p of ['weight', 'bias']) add(`${V}post_layernorm.${p}`, [Hv]);

  const t = c.text;
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
  add(LM_HEAD, [t.vocabSize, H], !c.tieWordEmbeddings);
  return out;
}
