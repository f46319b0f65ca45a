// VILA tensor names (VLM_FAMILIES.md 5.1). Each sub-folder's safetensors use the names of the module
// saved there: llm/ a LlamaForCausalLM (model.*, lm_head.weight), vision_tower/ a SiglipVisionModel
// (vision_model.*), mm_projector/ a MultimodalProjector (layers.*). The checkpoint prefixes them with
// the folder ('llm.', 'vision_tower.', 'mm_projector.', as in VILA's full-model state dict), and they
// map to canonical names:
//   llm.model.*       -> model.language_model.*   (the shared decoder)
//   llm.lm_head.*     -> lm_head.*
//   vision_tower.*    -> model.vision_tower.*     (the SigLIP tower, as LLaVA's canonical names)
//   mm_projector.*    -> model.mm_projector.*
import { textExpectedTensors, vitExpectedTensors } from '../../weights/expected.js';
import type { ExpectedTensor, ShardLayout } from '../types.js';
import type { VilaConfig } from './config.js';

export const VILA_VISION_PREFIX = 'model.vision_tower.vision_model.';
export const VILA_PROJECTOR_PREFIX = 'model.mm_projector.';

/** (folder, prefix given to its names, canonical root the prefixed names map to, folder-local root). */
const MAP: ReadonlyArray<{ folder: string; from: string; to: string; local: string }> = [
  { folder: 'llm', from: 'llm.model.', to: 'model.language_model.', local: 'model.' },
  { folder: 'llm', from: 'llm.lm_head.', to: 'lm_head.', local: 'lm_head.' },
  { folder: 'vision_tower', from: 'vision_tower.', to: 'model.vision_tower.', local: '' },
  { folder: 'mm_projector', from: 'mm_projector.', to: VILA_PROJECTOR_PREFIX, local: '' },
];

/** The sub-folder layout Checkpoint.open reads; the tokenizer lives in llm/. */
export const VILA_LAYOUT: ShardLayout = {
  name: 'VILA checkpoint',
  folders: [
    { folder: 'llm', prefix: 'llm.' },
    { folder: 'vision_tower', prefix: 'vision_tower.' },
    { folder: 'mm_projector', prefix: 'mm_projector.' },
  ],
  tokenizerFolder: 'llm',
};

/** Canonical name of a folder-prefixed on-disk name, or null when it is none of VILA's. */
export function vilaCanonicalName(prefixed: string): string | null {
  for (const m of MAP) if (prefixed.startsWith(m.from)) return m.to + prefixed.slice(m.from.length);
  return null;
}

/** Where a canonical name is stored: `<folder>/<name in that folder's safetensors>`. */
export function vilaDiskName(canonical: string): string {
  for (const m of MAP) if (canonical.startsWith(m.to)) return `${m.folder}/${m.local}${canonical.slice(m.to.length)}`;
  return canonical;
}

/** A canonical name's folder and its name inside that folder's safetensors (for the tiny writer). */
export function vilaStorage(canonical: string): { folder: string; name: string } {
  const disk = vilaDiskName(canonical);
  const slash = disk.indexOf('/');
  if (slash < 0) throw new Error(`vila: tensor '${canonical}' belongs to no sub-folder`);
  return { folder: disk.slice(0, slash), name: disk.slice(slash + 1) };
}

/** The projector's parameters, by canonical name, with shapes (MultimodalProjector's nn.Sequential indices). */
export function vilaProjectorTensors(c: VilaConfig): ExpectedTensor[] {
  const Dv = c.vision.hiddenSize;
  const D = c.text.hiddenSize;
  const P = `${VILA_PROJECTOR_PREFIX}layers.`;
  const out: ExpectedTensor[] = [];
  const add = (name: string, shape: number[]): void => void out.push({ name, shape, required: true });
  const p = c.projector;
  if (p.type === 'mlp_downsample') {
    // 0 DownSampleBlock, 1 LayerNorm(4 Dv), 2 Linear(4 Dv -> D), 3 GELU, 4 Linear(D -> D)
    add(`${P}1.weight`, [4 * Dv]);
    add(`${P}1.bias`, [4 * Dv]);
    add(`${P}2.weight`, [D, 4 * Dv]);
    add(`${P}2.bias`, [D]);
    add(`${P}4.weight`, [D, D]);
    add(`${P}4.bias`, [D]);
  } else if (p.type === 'linear') {
    // self.layers is the nn.Linear itself
    add(`${VILA_PROJECTOR_PREFIX}layers.weight`, [D, Dv]);
    add(`${VILA_PROJECTOR_PREFIX}layers.bias`, [D]);
  } else {
    // Linear at 0, 2, 4, ...; GELU between
    for (let k = 0; k < p.depth; k++) {
      add(`${P}${2 * k}.weight`, [D, k === 0 ? Dv : D]);
      add(`${P}${2 * k}.bias`, [D]);
    }
  }
  return out;
}

/** Every tensor a VILA checkpoint must (or may) hold, by canonical name, with its shape. */
export function vilaExpectedTensors(c: VilaConfig): ExpectedTensor[] {
  // hidden_states[k] is the output of layer k-1: the layers from the selected index on never run;
  // hidden_states[-2] is taken before post_layernorm: stored, never read.
  const out = vitExpectedTensors(c.vision, VILA_VISION_PREFIX, { usedLayers: c.visionHiddenStateIndex, postLayerNorm: false });
  return [...out, ...vilaProjectorTensors(c), ...textExpectedTensors(c.text, c.tieWordEmbeddings)];
}
