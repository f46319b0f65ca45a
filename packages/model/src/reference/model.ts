// The weights the reference forward reads, as float64, by canonical name.
import type { LlavaConfig } from '../config/types.js';
import type { Checkpoint } from '../weights/checkpoint.js';
import { expectedTensors } from '../weights/expected.js';
import { LM_HEAD } from '../weights/names.js';

export interface ReferenceModel {
  config: LlavaConfig;
  tensors: ReadonlyMap<string, Float64Array>;
}

/** Fetches a tensor; a missing one is a bug in the caller's model, so name it. */
export function weight(model: ReferenceModel, name: string): Float64Array {
  const t = model.tensors.get(name);
  if (!t) throw new Error(`reference: weight '${name}' is not loaded`);
  return t;
}

export const optionalWeight = (model: ReferenceModel, name: string): Float64Array | undefined => model.tensors.get(name);

/** Reads every tensor the forward uses (the required ones, plus lm_head when stored) as float64. */
export async function loadReferenceModel(ckpt: Checkpoint): Promise<ReferenceModel> {
  const tensors = new Map<string, Float64Array>();
  for (const { name, required } of expectedTensors(ckpt.config)) {
    if (required || (name === LM_HEAD && ckpt.has(name) && !ckpt.config.tieWordEmbeddings)) tensors.set(name, await ckpt.readF64(name));
  }
  return { config: ckpt.config, tensors };
}
