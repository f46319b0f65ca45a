// Writing the demo model as a Hugging Face LLaVA directory (config.json, generation_config.json,
// model.safetensors, tokenizer.json, tokenizer_config.json, preprocessor_config.json, processor_config.json), and the
// trainer's resumable state (flat weights + Adam moments + step) next to it.
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { SafetensorsFile, buildWordLevelTokenizer, encodeFloats, expectedTensors, parseLlavaConfig, writeSafetensors, type TensorInput } from '@mtv/model';
import type { ParamSpec } from './params.js';
import { SPECIAL_TOKENS, TOY_VOCAB } from '../tasks/vocab.js';
import { DEMO_ARCH, demoConfigJson, type DemoArch } from '../model/config.js';
import { CLIP_MEAN, CLIP_STD } from './data.js';

/**
 * The demo model's generation_config.json: every toy answer is one word-level token and the model was
 * never trained to emit `</s>` after it (it goes on with words of the next shot), so, as a Hugging Face
 * checkpoint would, it says how long its answers are: one new token.
 */
export const DEMO_GENERATION_CONFIG = { bos_token_id: 2, eos_token_id: 3, pad_token_id: 0, max_new_tokens: 1 } as const;

const json = (v: unknown): string => `${JSON.stringify(v, null, 2)}\n`;

/**
 * CLIPImageProcessor settings under which a 16x16 RGB image passes unchanged apart from
 * rescale (1/255) and the CLIP normalisation: no resize, no crop.
 */
export function demoPreprocessorJson(a: DemoArch = DEMO_ARCH): Record<string, unknown> {
  return {
    image_processor_type: 'CLIPImageProcessor',
    processor_class: 'LlavaProcessor',
    do_resize: false,
    size: { shortest_edge: a.imageSize },
    resample: 3,
    do_center_crop: false,
    crop_size: { height: a.imageSize, width: a.imageSize },
    do_rescale: true,
    rescale_factor: 1 / 255,
    do_normalize: true,
    image_mean: [...CLIP_MEAN],
    image_std: [...CLIP_STD],
    do_convert_rgb: true,
  };
}

export function demoProcessorJson(a: DemoArch = DEMO_ARCH): Record<string, unknown> {
  return { image_token: '<image>', num_additional_image_tokens: 1, patch_size: a.patchSize, processor_class: 'LlavaProcessor', vision_feature_select_strategy: 'default' };
}

/** Writes the HF directory atomically (a sibling temp dir renamed over `dir`). Returns the files. */
export async function writeDemoCheckpoint(dir: string, weights: ReadonlyMap<string, Float32Array>, a: DemoArch = DEMO_ARCH, metadata: Record<string, string> = {}): Promise<string[]> {
  const tmp = `${dir}.tmp-${process.pid}`;
  await rm(tmp, { recursive: true, force: true });
  await mkdir(tmp, { recursive: true });
  const tensors = new Map<string, TensorInput>();
  const cfg = demoConfigJson(a);
  for (const t of expectedTensors(parseLlavaConfig(cfg, 'demo'))) {
    if (!t.required && !t.name.includes('post_layernorm')) continue;
    const v = weights.get(t.name);
    const n = t.shape.reduce((x, y) => x * y, 1);
    if (!v || v.length !== n) throw new Error(`writeDemoCheckpoint: tensor ${t.name} [${t.shape.join(', ')}] is ${v ? `${v.length} values` : 'missing'}`);
    tensors.set(t.name, { dtype: 'F32', shape: t.shape, data: encodeFloats(v, 'F32') });
  }
  await writeSafetensors(join(tmp, 'model.safetensors'), tensors, { format: 'pt', ...metadata });
  const tok = buildWordLevelTokenizer({
    specialTokens: SPECIAL_TOKENS,
    words: TOY_VOCAB.slice(SPECIAL_TOKENS.length),
    bosToken: '<s>',
    eosToken: '</s>',
    padToken: '<pad>',
    unkToken: '<unk>',
    addBosToken: true,
  });
  await writeFile(join(tmp, 'config.json'), json(cfg));
  await writeFile(join(tmp, 'generation_config.json'), json(DEMO_GENERATION_CONFIG));
  await writeFile(join(tmp, 'tokenizer.json'), json(tok.tokenizerJson));
  await writeFile(join(tmp, 'tokenizer_config.json'), json(tok.tokenizerConfig));
  await writeFile(join(tmp, 'preprocessor_config.json'), json(demoPreprocessorJson(a)));
  await writeFile(join(tmp, 'processor_config.json'), json(demoProcessorJson(a)));
  await mkdir(dirname(dir), { recursive: true });
  await rm(dir, { recursive: true, force: true });
  await rename(tmp, dir);
  return ['config.json', 'generation_config.json', 'model.safetensors', 'preprocessor_config.json', 'processor_config.json', 'tokenizer.json', 'tokenizer_config.json'];
}

export interface TrainState {
  step: number;
  streamPosition: number;
  seed: number;
  total: number;
  /** Wall seconds trained so far (across resumes). */
  seconds: number;
}

/** Saves flat weights and Adam moments (raw little-endian f32) plus state.json. */
export async function saveTrainState(dir: string, state: TrainState, w: Float32Array, m: Float32Array, v: Float32Array): Promise<void> {
  await mkdir(dir, { recursive: true });
  for (const [name, arr] of [['w', w], ['m', m], ['v', v]] as const) {
    await writeFile(join(dir, `${name}.f32.tmp`), new Uint8Array(arr.buffer, arr.byteOffset, arr.byteLength));
    await rename(join(dir, `${name}.f32.tmp`), join(dir, `${name}.f32`));
  }
  await writeFile(join(dir, 'state.json'), json(state));
}

export async function loadTrainState(dir: string): Promise<{ state: TrainState; w: Float32Array; m: Float32Array; v: Float32Array }> {
  const state = JSON.parse(await readFile(join(dir, 'state.json'), 'utf8')) as TrainState;
  const read = async (name: string): Promise<Float32Array> => {
    const b = await readFile(join(dir, `${name}.f32`));
    const out = new Float32Array(b.byteLength / 4);
    new Uint8Array(out.buffer).set(b);
    if (out.length !== state.total) throw new Error(`loadTrainState: ${dir}/${name}.f32 holds ${out.length} values, state.json says ${state.total}`);
    return out;
  };
  return { state, w: await read('w'), m: await read('m'), v: await read('v') };
}

/**
 * The weights of a demo checkpoint directory (as writeDemoCheckpoint wrote it) laid out in the
 * trainer's flat order (`specs`, `total` slots), for `train --init`: every parameter must be there,
 * F32, with the shape the architecture expects.
 */
export async function loadCheckpointWeights(dir: string, specs: readonly ParamSpec[], total: number): Promise<Float32Array> {
  const path = join(dir, 'model.safetensors');
  const f = await SafetensorsFile.open(path);
  try {
    const out = new Float32Array(total);
    for (const s of specs) {
      if (!f.has(s.name)) throw new Error(`--init: ${path} has no tensor ${s.name} (is it a checkpoint of this architecture?)`);
      const info = f.info(s.name);
      if (info.dtype !== 'F32' || info.shape.join(',') !== s.shape.join(',')) throw new Error(`--init: ${path}: ${s.name} is ${info.dtype} [${info.shape.join(', ')}], this architecture needs F32 [${s.shape.join(', ')}]`);
      const b = await f.readBytes(s.name);
      out.set(new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength)), s.offset);
    }
    return out;
  } finally {
    await f.close();
  }
}
