// A checkpoint directory of any supported family: config.json + model.safetensors, or shards listed by
// model.safetensors.index.json. Opening validates every tensor against the config; tensor data is read
// on demand through the shards' file descriptors.
import { createHash } from 'node:crypto';
import { access, readFile, stat } from 'node:fs/promises';
import { basename, join, relative } from 'node:path';
import { ConfigError, isObject } from '../config/fields.js';
import { readJsonFile } from '../files/read-json.js';
import { familyOfConfigJson, type ModelConfig } from '../families/registry.js';
import type { ExpectedTensor, ModelFamily, ShardConfigs, ShardLayout } from '../families/types.js';
import { SafetensorsFile } from '../safetensors/reader.js';
import { isFloatDType, type SafetensorsDType } from '../safetensors/dtype.js';
import { firstNonFinite, firstNonFiniteF16Packed } from '../safetensors/convert.js';
import { LM_HEAD, TEXT_PREFIX, isIgnoredName } from './names.js';

export const SINGLE_FILE = 'model.safetensors';
export const INDEX_FILE = 'model.safetensors.index.json';

/** A checkpoint that does not match its config; names the file and the tensor. */
export class CheckpointError extends Error {
  constructor(
    readonly file: string,
    readonly tensor: string | null,
    message: string,
  ) {
    super(`${file}${tensor === null ? '' : `: tensor '${tensor}'`}: ${message}`);
    this.name = 'CheckpointError';
  }
}

interface Stored {
  diskName: string;
  file: SafetensorsFile;
}

/** A config.json of a sub-folder layout (ModelFamily.shardPrefixes), hashed under its relative path. */
interface PartConfig {
  relPath: string;
  bytes: Uint8Array;
}

const exists = (p: string): Promise<boolean> => access(p).then(() => true, () => false);
const fmt = (s: readonly number[]): string => `[${s.join(', ')}]`;

export class Checkpoint {
  private constructor(
    readonly dir: string,
    readonly family: ModelFamily<ModelConfig>,
    readonly config: ModelConfig,
    private readonly configBytes: Uint8Array,
    private readonly files: SafetensorsFile[],
    private readonly tensors: ReadonlyMap<string, Stored>,
    /** On-disk names outside the family's naming (not validated, not readable). */
    readonly unexpected: readonly string[],
    /** Sub-folder layouts only: the folders' config.json files and the layout. */
    private readonly parts: { layout: ShardLayout; configs: PartConfig[] } | null = null,
  ) {}

  /** The directory holding tokenizer.json: the checkpoint's, or its layout's tokenizer folder (VILA: llm/). */
  get tokenizerDir(): string {
    const folder = this.parts?.layout.tokenizerFolder;
    return folder === undefined ? this.dir : join(this.dir, folder);
  }

  /** Every tensor the config implies, by canonical name. */
  get expected(): ExpectedTensor[] {
    return this.family.expectedTensors(this.config);
  }

  /** Canonical name of the output projection: lm_head.weight, or embed_tokens when tied and lm_head is not stored. */
  get lmHeadName(): string {
    return this.config.tieWordEmbeddings ? `${TEXT_PREFIX}embed_tokens.weight` : LM_HEAD;
  }

  /** Paths of the safetensors files, sorted. */
  get shardPaths(): string[] {
    return this.files.map((f) => f.path);
  }

  /** Canonical names of every stored tensor, sorted. */
  list(): string[] {
    return [...this.tensors.keys()].sort();
  }

  has(name: string): boolean {
    return this.tensors.has(name);
  }

  shape(name: string): readonly number[] {
    const s = this.get(name);
    return s.file.info(s.diskName).shape;
  }

  dtype(name: string): SafetensorsDType {
    const s = this.get(name);
    return s.file.info(s.diskName).dtype;
  }

  /** Where a tensor lives: its file and its on-disk name. */
  source(name: string): { file: string; diskName: string } {
    const s = this.get(name);
    return { file: s.file.path, diskName: s.diskName };
  }

  /** The tensor as f32; a NaN or ±Inf element is a CheckpointError naming the tensor (checked once, as it is read). */
  async readF32(name: string): Promise<Float32Array> {
    const s = this.get(name);
    const a = await s.file.readF32(s.diskName);
    const i = firstNonFinite(a);
    this.checkFinite(s, i, () => String(a[i]), false);
    return a;
  }

  async readF64(name: string): Promise<Float64Array> {
    const s = this.get(name);
    const a = await s.file.readF64(s.diskName);
    const i = firstNonFinite(a);
    this.checkFinite(s, i, () => String(a[i]), false);
    return a;
  }

  /** IEEE halves packed two per u32 (F16 bits pass through; F32/BF16 round to nearest even); non-finite halves are refused. */
  async readF16Packed(name: string): Promise<Uint32Array> {
    const s = this.get(name);
    const words = await s.file.readF16Packed(s.diskName);
    const n = s.file.info(s.diskName).shape.reduce((x, y) => x * y, 1);
    const i = firstNonFiniteF16Packed(words, n);
    if (i >= 0 && s.file.info(s.diskName).dtype !== 'F16') {
      // Non-finite at the source, or a finite value that overflowed the rounding to f16?
      const src = (await s.file.readF32(s.diskName))[i]!;
      this.checkFinite(s, i, () => (Number.isFinite(src) ? `${src}, which overflows f16` : String(src)), Number.isFinite(src));
    }
    this.checkFinite(s, i, () => {
      const h = (words[i >> 1]! >>> ((i & 1) * 16)) & 0xffff;
      return (h & 0x3ff) !== 0 ? 'NaN' : h & 0x8000 ? '-Infinity' : 'Infinity';
    }, false);
    return words;
  }

  private checkFinite(s: Stored, index: number, value: () => string, overflowedF16: boolean): void {
    if (index < 0) return;
    const info = s.file.info(s.diskName);
    const overflow = overflowedF16
      ? ' when rounded for the device (f16 holds up to ±65504; --weights f32 keeps it)'
      : '; weights must be finite';
    throw new CheckpointError(s.file.path, s.diskName,
      `element ${index} of ${info.shape.reduce((x, y) => x * y, 1)} (shape ${fmt(info.shape)}, ${info.dtype}) is ${value()}${overflow}`);
  }

  /**
   * sha256 (hex) over config.json and every safetensors file (headers and data) in name order, streamed:
   * the provenance of an MTV artifact. Each part is prefixed by its file name and byte length. A
   * sub-folder layout also hashes every folder's config.json, and names each file by its path relative
   * to the checkpoint (llm/model.safetensors).
   */
  async hash(): Promise<string> {
    const h = createHash('sha256');
    const part = (name: string, size: number): void => void h.update(`${name}\0${size}\0`);
    part('config.json', this.configBytes.length);
    h.update(this.configBytes);
    for (const c of this.parts?.configs ?? []) {
      part(c.relPath, c.bytes.length);
      h.update(c.bytes);
    }
    for (const f of this.files) {
      part(this.parts ? relative(this.dir, f.path) : basename(f.path), f.size);
      for await (const chunk of f.chunks()) h.update(chunk);
    }
    return h.digest('hex');
  }

  async close(): Promise<void> {
    await Promise.all(this.files.map((f) => f.close()));
  }

  private get(name: string): Stored {
    const s = this.tensors.get(name);
    if (!s) throw new CheckpointError(this.dir, name, `no such tensor in the checkpoint (${this.tensors.size} tensors; names are canonical, e.g. '${TEXT_PREFIX}norm.weight')`);
    return s;
  }

  /**
   * A checkpoint split into sub-folders (ModelFamily.shardPrefixes): each folder must hold config.json
   * and model.safetensors (or an index with its shards); its tensor names get the folder's prefix before
   * the family's canonicalName. A missing folder, config or safetensors is named.
   */
  private static async openLayout(dir: string, family: ModelFamily<ModelConfig>, json: unknown, configPath: string, configBytes: Uint8Array, layout: ShardLayout): Promise<Checkpoint> {
    const what = `${layout.name} ${dir}`;
    const shardConfigs = new Map<string, { json: unknown; file: string }>();
    const configs: PartConfig[] = [];
    const shardLists: Array<{ folder: string; prefix: string; names: string[] }> = [];
    for (const { folder, prefix } of layout.folders) {
      const sub = join(dir, folder);
      const isDir = await stat(sub).then((s) => s.isDirectory(), () => false);
      if (!isDir) throw new CheckpointError(what, null, `missing ${folder}/ (expected ${folder}/config.json and its safetensors)`);
      const file = join(sub, 'config.json');
      let bytes: Uint8Array;
      try {
        bytes = await readFile(file);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw new ConfigError(file, '(file)', `cannot read: ${(e as Error).message}`);
        throw new CheckpointError(what, null, `missing ${folder}/config.json (each of ${layout.folders.map((f) => `${f.folder}/`).join(', ')} holds its own config.json and safetensors)`);
      }
      let sj: unknown;
      try {
        sj = JSON.parse(new TextDecoder().decode(bytes));
      } catch (e) {
        throw new ConfigError(file, '(file)', `not valid JSON: ${(e as Error).message}`);
      }
      shardConfigs.set(folder, { json: sj, file });
      configs.push({ relPath: `${folder}/config.json`, bytes });
      if (!(await exists(join(sub, INDEX_FILE))) && !(await exists(join(sub, SINGLE_FILE)))) {
        throw new CheckpointError(what, null, `missing ${folder}/${SINGLE_FILE} (and no ${folder}/${INDEX_FILE}): ${folder}/ holds no safetensors`);
      }
      shardLists.push({ folder, prefix, names: await listShards(sub) });
    }
    const config = family.parseConfig(json, configPath, shardConfigs as ShardConfigs);
    const files: SafetensorsFile[] = [];
    try {
      const tensors = new Map<string, Stored>();
      const unexpected: string[] = [];
      for (const { folder, prefix, names } of shardLists) {
        const opened: SafetensorsFile[] = [];
        for (const name of names) opened.push(await SafetensorsFile.open(join(dir, folder, name)));
        files.push(...opened);
        collectInto(opened, family, prefix, tensors, unexpected);
        await checkIndex(join(dir, folder), opened, tensors, family, prefix);
      }
      const where = `${dir} (${files.map((f) => relative(dir, f.path)).join(', ')})`;
      validateTensors(dir, family, config, files, tensors, where);
      return new Checkpoint(dir, family, config, configBytes, files, tensors, unexpected, { layout, configs });
    } catch (e) {
      await Promise.all(files.map((f) => f.close()));
      throw e;
    }
  }

  /** Opens `dir`, validates every tensor against config.json, or throws (closing whatever it opened). */
  static async open(dir: string): Promise<Checkpoint> {
    const configPath = join(dir, 'config.json');
    let configBytes: Uint8Array;
    try {
      configBytes = await readFile(configPath);
    } catch (e) {
      throw new ConfigError(configPath, '(file)', `cannot read: ${(e as Error).message}`);
    }
    let json: unknown;
    try {
      json = JSON.parse(new TextDecoder().decode(configBytes));
    } catch (e) {
      throw new ConfigError(configPath, '(file)', `not valid JSON: ${(e as Error).message}`);
    }
    const family = familyOfConfigJson(json, configPath);
    const layout = family.shardPrefixes?.(dir, json);
    if (layout) return Checkpoint.openLayout(dir, family, json, configPath, configBytes, layout);
    const config = family.parseConfig(json, configPath);

    const shardNames = await listShards(dir);
    const files: SafetensorsFile[] = [];
    try {
      for (const name of shardNames) files.push(await SafetensorsFile.open(join(dir, name)));
      const { tensors, unexpected } = collect(files, family);
      await checkIndex(dir, files, tensors, family);
      validate(dir, family, config, files, tensors);
      return new Checkpoint(dir, family, config, configBytes, files, tensors, unexpected);
    } catch (e) {
      await Promise.all(files.map((f) => f.close()));
      throw e;
    }
  }
}

export const openCheckpoint = (dir: string): Promise<Checkpoint> => Checkpoint.open(dir);

/** Shard file names: the unique values of the index's weight_map, or the single model.safetensors. */
async function listShards(dir: string): Promise<string[]> {
  const indexPath = join(dir, INDEX_FILE);
  if (await exists(indexPath)) {
    const map = await readWeightMap(indexPath);
    const names = [...new Set(Object.values(map))].sort();
    if (names.length === 0) throw new CheckpointError(indexPath, null, 'weight_map is empty');
    for (const n of names) {
      if (n.includes('/') || n.includes('\\') || n === '..' || n === '.' || n === '') throw new CheckpointError(indexPath, null, `weight_map names a file outside the checkpoint directory: '${n}'`);
      if (!(await exists(join(dir, n)))) throw new CheckpointError(indexPath, null, `weight_map names shard '${n}', which does not exist in ${dir}`);
      if (!(await stat(join(dir, n))).isFile()) throw new CheckpointError(indexPath, null, `weight_map names shard '${n}', which is not a regular file in ${dir}`);
    }
    return names;
  }
  if (await exists(join(dir, SINGLE_FILE))) return [SINGLE_FILE];
  throw new CheckpointError(dir, null, `no ${SINGLE_FILE} and no ${INDEX_FILE}`);
}

async function readWeightMap(indexPath: string): Promise<Record<string, string>> {
  const json = await readJsonFile(indexPath, (why) => new CheckpointError(indexPath, null, `cannot read as JSON: ${why}`));
  const map = isObject(json) ? json['weight_map'] : undefined;
  if (!isObject(map)) throw new CheckpointError(indexPath, null, 'has no weight_map object');
  for (const [k, v] of Object.entries(map)) if (typeof v !== 'string') throw new CheckpointError(indexPath, k, `weight_map value is not a file name: ${JSON.stringify(v)}`);
  return map as Record<string, string>;
}

/** Every stored tensor by canonical name; the same tensor twice (across shards or namings) is an error. */
function collect(files: SafetensorsFile[], family: ModelFamily<ModelConfig>): { tensors: Map<string, Stored>; unexpected: string[] } {
  const tensors = new Map<string, Stored>();
  const unexpected: string[] = [];
  collectInto(files, family, '', tensors, unexpected);
  return { tensors, unexpected };
}

/** collect() into existing maps, each on-disk name seen as `prefix + name` (sub-folder layouts). */
function collectInto(files: SafetensorsFile[], family: ModelFamily<ModelConfig>, prefix: string, tensors: Map<string, Stored>, unexpected: string[]): void {
  for (const file of files) {
    for (const diskName of file.names()) {
      if (isIgnoredName(diskName)) continue;
      const name = family.canonicalName(prefix + diskName);
      if (name === null) {
        unexpected.push(prefix + diskName);
        continue;
      }
      const prev = tensors.get(name);
      if (prev) throw new CheckpointError(file.path, diskName, `duplicates '${prev.diskName}' in ${prev.file.path} (both are '${name}')`);
      tensors.set(name, { diskName, file });
    }
  }
}

/** The index must agree with the shards: each weight_map entry is stored in the shard it names. */
async function checkIndex(dir: string, files: SafetensorsFile[], tensors: Map<string, Stored>, family: ModelFamily<ModelConfig>, prefix = ''): Promise<void> {
  const indexPath = join(dir, INDEX_FILE);
  if (files.length === 1 && basename(files[0]!.path) === SINGLE_FILE && !(await exists(indexPath))) return;
  const map = await readWeightMap(indexPath);
  for (const [diskName, shard] of Object.entries(map)) {
    if (isIgnoredName(diskName)) continue;
    const stored = tensors.get(family.canonicalName(prefix + diskName) ?? diskName);
    if (!stored || basename(stored.file.path) !== shard || stored.diskName !== diskName) {
      throw new CheckpointError(join(dir, shard), diskName, `listed in ${INDEX_FILE} but not stored in this shard`);
    }
  }
}

function validate(dir: string, family: ModelFamily<ModelConfig>, config: ModelConfig, files: SafetensorsFile[], tensors: Map<string, Stored>): void {
  try {
    validateTensors(dir, family, config, files, tensors);
  } catch (e) {
    // A mismatch against sizes config.json never stated: name the missing section, not just the tensor.
    const d = config.defaulted;
    const missing = [d?.text ? 'text_config' : null, d?.vision ? 'vision_config' : null].filter((x) => x !== null);
    if (!(e instanceof CheckpointError) || missing.length === 0) throw e;
    const defaults = missing.map((m) => (m === 'text_config' ? 'LlamaConfig() (hidden_size 4096, 32 layers, vocab_size 32000)' : 'CLIP ViT-L/14-336 vision defaults')).join(' and ');
    throw new CheckpointError(join(dir, 'config.json'), null,
      `has no ${missing.join(' and ')}, so ${defaults} ${missing.length > 1 ? 'were' : 'was'} assumed, and the weights do not match: ${e.message}; add the model's ${missing.join(' and ')} to config.json`);
  }
}

function validateTensors(dir: string, family: ModelFamily<ModelConfig>, config: ModelConfig, files: SafetensorsFile[], tensors: Map<string, Stored>, whereGiven?: string): void {
  const where = whereGiven ?? (files.length === 1 ? files[0]!.path : `${dir} (shards ${files.map((f) => basename(f.path)).join(', ')})`);
  for (const exp of family.expectedTensors(config)) {
    const stored = tensors.get(exp.name);
    if (!stored) {
      if (!exp.required) continue;
      const disk = family.diskName(exp.name);
      const also = disk === exp.name ? '' : ` and '${disk}'`;
      throw new CheckpointError(where, exp.name, `missing (looked for '${exp.name}'${also}; expected shape ${fmt(exp.shape)} from config.json)`);
    }
    const info = stored.file.info(stored.diskName);
    if (info.shape.length !== exp.shape.length || info.shape.some((d, i) => d !== exp.shape[i])) {
      throw new CheckpointError(stored.file.path, stored.diskName, `shape ${fmt(info.shape)} but config.json implies ${fmt(exp.shape)}`);
    }
    if (!isFloatDType(info.dtype)) throw new CheckpointError(stored.file.path, stored.diskName, `dtype ${info.dtype} is not a float dtype (F32, F16, BF16, F64)`);
  }
}
