// The weights a float64 reference reads, as float64, by canonical name, with the family that reads them.
import type { Checkpoint } from '../weights/checkpoint.js';
import { LM_HEAD } from '../weights/names.js';
import type { ModelConfigBase, ReferenceTensors } from '../families/types.js';
import type { ModelConfig } from '../families/registry.js';

export type ReferenceModel<C extends ModelConfigBase = ModelConfig> = ReferenceTensors<C>;

/** Fetches a tensor; a missing one is a bug in the caller's model, so name it. */
export function weight(model: ReferenceTensors<ModelConfigBase>, name: string): Float64Array {
  const t = model.tensors.get(name);
  if (!t) throw new Error(`reference: weight '${name}' is not loaded`);
  return t;
}

export const optionalWeight = (model: ReferenceTensors<ModelConfigBase>, name: string): Float64Array | undefined => model.tensors.get(name);

/** Reads every tensor the forward uses (the required ones, plus lm_head when stored) as float64. */
export async function loadReferenceModel(ckpt: Checkpoint): Promise<ReferenceModel> {
  const tensors = new Map<string, Float64Array>();
  for (const { name, required } of ckpt.expected) {
    if (required || (name === LM_HEAD && ckpt.has(name) && !ckpt.config.tieWordEmbeddings)) tensors.set(name, await ckpt.readF64(name));
  }
  return { config: ckpt.config, tensors };
}
