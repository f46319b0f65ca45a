// LLaVA-NeXT / OneVision parameter names and expected tensors (VLM_FAMILIES.md 3.2). The hub files use
// the legacy names, which transformers >= 4.52 renames with _checkpoint_conversion_mapping; both are
// read, the new ones are canonical (the LLaVA rules of families/llava/weights.ts, plus the newline):
//   legacy                        canonical
//   language_model.model.*     -> model.language_model.*
//   language_model.lm_head.*   -> lm_head.*
//   vision_tower.*             -> model.vision_tower.*
//   multi_modal_projector.*    -> model.multi_modal_projector.*
//   image_newline              -> model.image_newline
import type { ExpectedTensor } from '../types.js';
import { canonicalName as llavaCanonicalName, legacyName as llavaLegacyName, llavaExpectedTensors } from '../llava/weights.js';
import { towerConfig, type LlavaNextConfig } from './config.js';

export const IMAGE_NEWLINE = 'model.image_newline';
const LEGACY_IMAGE_NEWLINE = 'image_newline';

/** Canonical name of an on-disk name (either scheme), or null when it belongs to neither. */
export function llavaNextCanonicalName(diskName: string): string | null {
  if (diskName === LEGACY_IMAGE_NEWLINE || diskName === IMAGE_NEWLINE) return IMAGE_NEWLINE;
  return llavaCanonicalName(diskName);
}

/** The legacy (hub) name of a canonical name. */
export function llavaNextLegacyName(canonical: string): string {
  return canonical === IMAGE_NEWLINE ? LEGACY_IMAGE_NEWLINE : llavaLegacyName(canonical);
}

/**
 * Every tensor a checkpoint must (or may) hold: the LLaVA tower (layers past the selected hidden state
 * and post_layernorm optional), the projector, image_newline [text hidden], and the decoder.
 */
export function llavaNextExpectedTensors(c: LlavaNextConfig): ExpectedTensor[] {
  const llava = llavaExpectedTensors(towerConfig(c));
  // after the projector, before the decoder (the order tiny checkpoints are written in)
  const at = llava.findIndex((t) => t.name.startsWith('model.language_model.'));
  const newline: ExpectedTensor = { name: IMAGE_NEWLINE, shape: [c.text.hiddenSize], required: true };
  return at < 0 ? [...llava, newline] : [...llava.slice(0, at), newline, ...llava.slice(at)];
}
