// Idefics3's parameter names and expected tensors (VLM_FAMILIES.md 1.2). Checkpoint names equal the
// module names of Idefics3ForConditionalGeneration; only the decoder's prefix is renamed to the
// canonical one the shared decoder reads:
//   on disk                         canonical
//   model.text_model.*          <-> model.language_model.*
//   lm_head.weight                  lm_head.weight
//   model.vision_model.*            model.vision_model.*            (kept)
//   model.connector.*               model.connector.*               (kept)
import { textExpectedTensors, vitExpectedTensors } from '../../weights/expected.js';
import { TEXT_PREFIX } from '../../weights/names.js';
import type { ExpectedTensor } from '../types.js';
import type { Idefics3Config } from './config.js';

export const IDEFICS3_VISION_PREFIX = 'model.vision_model.';
export const IDEFICS3_CONNECTOR_PREFIX = 'model.connector.';
export const IDEFICS3_PROJ = 'model.connector.modality_projection.proj.weight';
export const IDEFICS3_DISK_TEXT_PREFIX = 'model.text_model.';

/** Canonical name of an on-disk name, or null when it is none of Idefics3's (kept as "unexpected"). */
export function idefics3CanonicalName(disk: string): string | null {
  if (disk.startsWith(IDEFICS3_DISK_TEXT_PREFIX)) return TEXT_PREFIX + disk.slice(IDEFICS3_DISK_TEXT_PREFIX.length);
  if (disk.startsWith(IDEFICS3_VISION_PREFIX) || disk.startsWith(IDEFICS3_CONNECTOR_PREFIX) || disk.startsWith('lm_head.')) return disk;
  return null;
}

/** The on-disk (published) name of a canonical name. */
export function idefics3DiskName(canonical: string): string {
  return canonical.startsWith(TEXT_PREFIX) ? IDEFICS3_DISK_TEXT_PREFIX + canonical.slice(TEXT_PREFIX.length) : canonical;
}

/**
 * The vision tower's tensors under `prefix` (SigLIP layout without a head): patch conv with bias,
 * position table [numPatches, hidden], `numLayers` pre-LN encoder layers, post_layernorm (used).
 * Shared with Idefics2, whose tower has the same layout.
 */
export const ideficsVisionExpectedTensors = (v: Idefics3Config['vision'], prefix: string): ExpectedTensor[] => vitExpectedTensors(v, prefix, { postLayerNorm: true });

/** Every tensor an Idefics3 checkpoint must (or may) hold, in canonical names, with shapes from the config. */
export function idefics3ExpectedTensors(c: Idefics3Config): ExpectedTensor[] {
  const s2 = c.scaleFactor * c.scaleFactor;
  return [
    ...ideficsVisionExpectedTensors(c.vision, IDEFICS3_VISION_PREFIX),
    { name: IDEFICS3_PROJ, shape: [c.text.hiddenSize, c.vision.hiddenSize * s2], required: true },
    ...textExpectedTensors(c.text, c.tieWordEmbeddings),
  ];
}
