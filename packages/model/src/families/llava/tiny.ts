// Writes a tiny random-weight LLaVA checkpoint in the exact Hugging Face directory layout:
// config.json, model.safetensors (or model-0000k-of-0000n.safetensors + model.safetensors.index.json),
// preprocessor_config.json, processor_config.json, tokenizer.json, tokenizer_config.json.
import { encodeFloats, type TensorInput } from '../../safetensors/writer.js';
import { dtypeSize } from '../../safetensors/dtype.js';
import { tinyTensors } from '../../tiny/weights.js';
import { buildWordLevelTokenizer } from '../../tokenizer/build.js';
import { INDEX_FILE, SINGLE_FILE } from '../../weights/checkpoint.js';
import { parseLlavaConfig, type LlavaConfig } from './config.js';
import { TINY_WORDS, tinyConfigJson, tinyPreprocessorJson, tinyProcessorJson, tinySpecials, type TinyFamily } from './tiny-presets.js';
import { legacyName, llavaExpectedTensors } from './weights.js';
import { TinyFiles, jsonText } from '../../tiny/files.js';

export type TinyNaming = 'legacy' | 'new';
export type TinyDType = 'F32' | 'F16' | 'BF16';

export interface TinyOptions {
  family: TinyFamily;
  /** legacy: language_model.model.*, vision_tower.* (the llava-hf hub files); new: model.language_model.*, lm_head.* */
  naming?: TinyNaming;
  shards?: number;
  dtype?: TinyDType;
  seed?: number;
  /** Fields merged into config.json's text_config / vision_config / top level (e.g. for benchmark-sized models). */
  configOverrides?: { text?: Record<string, unknown>; vision?: Record<string, unknown>; top?: Record<string, unknown> };
}

export interface TinyCheckpoint {
  dir: string;
  config: LlavaConfig;
  /** Every file written, relative to dir, sorted. */
  files: string[];
}


/** Splits tensors into `n` contiguous groups of roughly equal bytes (in list order), none empty. */
function split<T extends { bytes: number }>(items: T[], n: number): T[][] {
  const total = items.reduce((a, t) => a + t.bytes, 0);
  const groups: T[][] = [[]];
  let acc = 0;
  items.forEach((t, i) => {
    const g = groups.length;
    const left = items.length - i;
    // Start the next group once this one holds its share, keeping enough items for the remaining groups.
    if (groups[g - 1]!.length > 0 && g < n && (acc >= (total * g) / n || left <= n - g)) groups.push([]);
    groups[groups.length - 1]!.push(t);
    acc += t.bytes;
  });
  return groups;
}

export async function writeTinyCheckpoint(dir: string, opts: TinyOptions): Promise<TinyCheckpoint> {
  const { family, naming = 'legacy', shards = 1, dtype = 'F32', seed = 0 } = opts;
  const configJson = tinyConfigJson(family);
  const o = opts.configOverrides;
  if (o) {
    Object.assign(configJson, o.top ?? {});
    Object.assign(configJson['text_config'] as Record<string, unknown>, o.text ?? {});
    Object.assign(configJson['vision_config'] as Record<string, unknown>, o.vision ?? {});
  }
  if (dtype !== 'F32') {
    const torchDtype = dtype === 'F16' ? 'float16' : 'bfloat16';
    configJson['torch_dtype'] = torchDtype;
    (configJson['text_config'] as Record<string, unknown>)['torch_dtype'] = torchDtype;
  }
  const config = parseLlavaConfig(configJson, 'tinyConfigJson');
  const tensors = tinyTensors(llavaExpectedTensors(config), seed).map((t) => ({
    diskName: naming === 'legacy' ? legacyName(t.name) : t.name,
    input: { dtype, shape: t.shape, data: encodeFloats(t.values, dtype) } satisfies TensorInput,
    bytes: t.values.length * dtypeSize(dtype),
  }));
  if (!Number.isInteger(shards) || shards < 1 || shards > tensors.length) {
    throw new Error(`writeTinyCheckpoint: shards must be an integer in 1..${tensors.length}, got ${shards}`);
  }

  const out = await TinyFiles.create(dir);
  await out.text('config.json', jsonText(configJson));

  const metadata = { format: 'pt' };
  if (shards === 1) {
    await out.safetensors(SINGLE_FILE, new Map(tensors.map((t) => [t.diskName, t.input])), metadata);
  } else {
    const weightMap: Record<string, string> = {};
    const groups = split(tensors, shards);
    const pad = (k: number): string => String(k).padStart(5, '0');
    for (const [k, group] of groups.entries()) {
      const name = `model-${pad(k + 1)}-of-${pad(groups.length)}.safetensors`;
      await out.safetensors(name, new Map(group.map((t) => [t.diskName, t.input])), metadata);
      for (const t of group) weightMap[t.diskName] = name;
    }
    const sortedMap = Object.fromEntries(Object.entries(weightMap).sort(([a], [b]) => (a < b ? -1 : 1)));
    const totalSize = tensors.reduce((a, t) => a + t.bytes, 0);
    await out.text(INDEX_FILE, jsonText({ metadata: { total_size: totalSize }, weight_map: sortedMap }));
  }

  const sp = tinySpecials(family);
  const tok = buildWordLevelTokenizer({
    specialTokens: sp.specialTokens,
    words: TINY_WORDS,
    bosToken: sp.bos,
    eosToken: sp.eos,
    padToken: sp.pad,
    unkToken: sp.unk,
    addBosToken: sp.addBos,
    chatTemplate: sp.chatTemplate,
  });
  await out.text('tokenizer.json', jsonText(tok.tokenizerJson));
  await out.text('tokenizer_config.json', jsonText(tok.tokenizerConfig));
  // Both from the final config (overrides applied), so their image size and token count match the tower's.
  await out.text('preprocessor_config.json', jsonText(tinyPreprocessorJson(family, config)));
  await out.text('processor_config.json', jsonText(tinyProcessorJson(family, config)));
  return { dir, config, files: out.files };
}
