// LLaVA's parameter names and expected tensors (VLM_FORMATS.md 1.2, 1.3, 1.4, 2.2). Its two on-disk
// schemes are normalised to the new transformers names, which are canonical:
//   legacy                        canonical
//   language_model.model.*     -> model.language_model.*
//   language_model.lm_head.*   -> lm_head.*
//   vision_tower.*             -> model.vision_tower.*
//   multi_modal_projector.*    -> model.multi_modal_projector.*
import { textExpectedTensors, vitExpectedTensors } from '../../weights/expected.js';
import type { ExpectedTensor } from '../types.js';
import type { LlavaConfig } from './config.js';

export const VISION_PREFIX = 'model.vision_tower.vision_model.';
export const PROJECTOR_PREFIX = 'model.multi_modal_projector.';

const LEGACY: ReadonlyArray<readonly [string, string]> = [
  ['language_model.model.', 'model.language_model.'],
  ['language_model.lm_head.', 'lm_head.'],
  ['vision_tower.', 'model.vision_tower.'],
  ['multi_modal_projector.', 'model.multi_modal_projector.'],
];

const CANONICAL_ROOTS = ['model.language_model.', 'model.vision_tower.', 'model.multi_modal_projector.', 'lm_head.'];

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

/** Every tensor a LLaVA checkpoint must (or may) hold, with its shape, computed from the config. */
export function llavaExpectedTensors(c: LlavaConfig): ExpectedTensor[] {
  const out: ExpectedTensor[] = [];
  const add = (name: string, shape: number[], required = true): void => void out.push({ name, shape, required });
  // hidden_states[k] is the output of layer k-1: layers at or past the selected index are never run;
  // post_layernorm is never read.
  const vision = vitExpectedTensors(c.vision, VISION_PREFIX, { usedLayers: c.visionHiddenStateIndex, postLayerNorm: false });
  const Hv = c.vision.hiddenSize;
  const H = c.text.hiddenSize;
  add(`${PROJECTOR_PREFIX}linear_1.weight`, [H, Hv]);
  if (c.projectorBias) add(`${PROJECTOR_PREFIX}linear_1.bias`, [H]);
  add(`${PROJECTOR_PREFIX}linear_2.weight`, [H, H]);
  if (c.projectorBias) add(`${PROJECTOR_PREFIX}linear_2.bias`, [H]);
  return [...vision, ...out, ...textExpectedTensors(c.text, c.tieWordEmbeddings)];
}
