// Parameter names: the two on-disk LLaVA schemes normalised to one canonical set, the new
// transformers names (VLM_FORMATS.md 1.2):
//   legacy                        canonical
//   language_model.model.*     -> model.language_model.*
//   language_model.lm_head.*   -> lm_head.*
//   vision_tower.*             -> model.vision_tower.*
//   multi_modal_projector.*    -> model.multi_modal_projector.*

export const VISION_PREFIX = 'model.vision_tower.vision_model.';
export const PROJECTOR_PREFIX = 'model.multi_modal_projector.';
export const TEXT_PREFIX = 'model.language_model.';
export const LM_HEAD = 'lm_head.weight';

const LEGACY: ReadonlyArray<readonly [string, string]> = [
  ['language_model.model.', 'model.language_model.'],
  ['language_model.lm_head.', 'lm_head.'],
  ['vision_tower.', 'model.vision_tower.'],
  ['multi_modal_projector.', 'model.multi_modal_projector.'],
];

const CANONICAL_ROOTS = ['model.language_model.', 'model.vision_tower.', 'model.multi_modal_projector.', 'lm_head.'];

/** Buffers some exporters store that carry no weights. */
export const isIgnoredName = (name: string): boolean => name.endsWith('.rotary_emb.inv_freq') || name.endsWith('.position_ids');

/** Canonical name of an on-disk name, or null when it belongs to neither scheme (kept as "unexpected"). */
export function canonicalName(diskName: string): string | null {
  for (const [from, to] of LEGACY) if (diskName.startsWith(from)) return to + diskName.slice(from.length);
  return CANONICAL_ROOTS.some((r) => diskName.startsWith(r)) ? diskName : null;
}

/** The legacy on-disk name of a canonical name (for error messages and for writing legacy checkpoints). */
export function legacyName(canonical: string): string {
  for (const [legacy, fresh] of LEGACY) if (canonical.startsWith(fresh)) return legacy + canonical.slice(fresh.length);
  return canonical;
}
