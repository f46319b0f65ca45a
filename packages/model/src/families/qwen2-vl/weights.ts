// Qwen2-VL / Qwen2.5-VL parameter names and expected tensors (VLM_FAMILIES.md 4.2). Two on-disk
// schemes are read, the published (legacy) one and the one current transformers saves
// (_checkpoint_conversion_mapping: ^visual -> model.visual, ^model(?!.(language_model|visual)) -> model.language_model):
//   legacy (hub)       current                       canonical
//   model.*            model.language_model.*        model.language_model.*
//   visual.*           model.visual.*                model.visual.*
//   lm_head.weight     lm_head.weight                lm_head.weight
// We write the legacy names (what the published checkpoints hold).
import { textExpectedTensors } from '../../weights/expected.js';
import { TEXT_PREFIX } from '../../weights/names.js';
import type { ExpectedTensor } from '../types.js';
import type { Qwen2VLConfig } from './config.js';

export const QWEN2_VL_VISION_PREFIX = 'model.visual.';
const DISK_VISION_PREFIX = 'visual.';
const DISK_TEXT_PREFIX = 'model.';

/** Canonical name of an on-disk name (either scheme), or null when foreign. */
export function qwen2VLCanonicalName(disk: string): string | null {
  if (disk.startsWith(TEXT_PREFIX) || disk.startsWith(QWEN2_VL_VISION_PREFIX) || disk.startsWith('lm_head.')) return disk;
  if (disk.startsWith(DISK_VISION_PREFIX)) return QWEN2_VL_VISION_PREFIX + disk.slice(DISK_VISION_PREFIX.length);
  if (disk.startsWith(DISK_TEXT_PREFIX)) return TEXT_PREFIX + disk.slice(DISK_TEXT_PREFIX.length);
  return null;
}

/** The published (legacy) on-disk name of a canonical name. */
export function qwen2VLDiskName(canonical: string): string {
  if (canonical.startsWith(TEXT_PREFIX)) return DISK_TEXT_PREFIX + canonical.slice(TEXT_PREFIX.length);
  if (canonical.startsWith(QWEN2_VL_VISION_PREFIX)) return DISK_VISION_PREFIX + canonical.slice(QWEN2_VL_VISION_PREFIX.length);
  return canonical;
}

/** The vision tower + merger tensors (canonical names). */
export function qwen2VLVisionExpectedTensors(c: Qwen2VLConfig): ExpectedTensor[] {
  const v = c.vision;
  const out: ExpectedTensor[] = [];
  const add = (name: string, shape: number[]): void => void out.push({ name, shape, required: true });
  const E = v.hiddenSize;
  const I = v.intermediateSize;
  const P = QWEN2_VL_VISION_PREFIX;
  const rms = v.norm === 'rmsnorm';
  add(`${P}patch_embed.proj.weight`, [E, v.inChannels, v.temporalPatchSize, v.patchSize, v.patchSize]);
  for (let i = 0; i < v.depth; i++) {
    const B = `${P}blocks.${i}.`;
    for (const n of ['norm1', 'norm2']) {
      add(`${B}${n}.weight`, [E]);
      if (!rms) add(`${B}${n}.bias`, [E]);
    }
    add(`${B}attn.qkv.weight`, [3 * E, E]);
    add(`${B}attn.qkv.bias`, [3 * E]);
    add(`${B}attn.proj.weight`, [E, E]);
    add(`${B}attn.proj.bias`, [E]);
    if (v.mlp === 'fc') {
      add(`${B}mlp.fc1.weight`, [I, E]);
      add(`${B}mlp.fc1.bias`, [I]);
      add(`${B}mlp.fc2.weight`, [E, I]);
      add(`${B}mlp.fc2.bias`, [E]);
    } else {
      for (const p of ['gate_proj', 'up_proj']) {
        add(`${B}mlp.${p}.weight`, [I, E]);
        add(`${B}mlp.${p}.bias`, [I]);
      }
      add(`${B}mlp.down_proj.weight`, [E, I]);
      add(`${B}mlp.down_proj.bias`, [E]);
    }
  }
  const M = E * v.spatialMergeSize * v.spatialMergeSize;
  add(`${P}merger.ln_q.weight`, [E]);
  if (!rms) add(`${P}merger.ln_q.bias`, [E]);
  add(`${P}merger.mlp.0.weight`, [M, M]);
  add(`${P}merger.mlp.0.bias`, [M]);
  add(`${P}merger.mlp.2.weight`, [v.outHiddenSize, M]);
  add(`${P}merger.mlp.2.bias`, [v.outHiddenSize]);
  return out;
}

/** Every tensor a Qwen2-VL / Qwen2.5-VL checkpoint must (or may) hold, canonical names. */
export function qwen2VLExpectedTensors(c: Qwen2VLConfig): ExpectedTensor[] {
  return [...qwen2VLVisionExpectedTensors(c), ...textExpectedTensors(c.text, c.tieWordEmbeddings)];
}
