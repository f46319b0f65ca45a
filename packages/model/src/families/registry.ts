// Every supported family, and the choice among them from config.json's `model_type` and
// `architectures`. An unknown one is refused with the list of what is supported.
import { join } from 'node:path';
import { ConfigError, isObject } from '../config/fields.js';
import { readConfigObject } from '../config/read.js';
import type { ExpectedTensor, ModelFamily } from './types.js';
import { idefics2Family, type Idefics2Config } from './idefics2/index.js';
import { idefics3Family, type Idefics3Config } from './idefics3/index.js';
import { llavaFamily, type LlavaConfig } from './llava/index.js';
import { vilaFamily, type VilaConfig } from './vila/index.js';
import { qwen2VlFamily, type Qwen2VLConfig } from './qwen2-vl/index.js';
import { llavaNextFamily, llavaOnevisionFamily, type LlavaNextConfig } from './llava-next/index.js';

/** The parsed config of any supported family (narrow on `family`). */
export type ModelConfig = LlavaConfig | Idefics3Config | Idefics2Config | VilaConfig | Qwen2VLConfig | LlavaNextConfig;

// Typed per family where they are defined; stored here behind the common interface (each family's
// functions only ever receive the config its own parseConfig returned).
const erase = <C extends ModelConfig, W>(f: ModelFamily<C, W>): ModelFamily<ModelConfig> => f as unknown as ModelFamily<ModelConfig>;
export const FAMILIES: readonly ModelFamily<ModelConfig>[] = [erase(llavaFamily), erase(idefics3Family), erase(idefics2Family), erase(vilaFamily), erase(qwen2VlFamily), erase(llavaNextFamily), erase(llavaOnevisionFamily)];

/** "llava (LlavaForConditionalGeneration), ...": for error messages and the README. */
export function supportedFamilies(): string {
  return FAMILIES.map((f) => `${f.modelTypes.join('/')} (${f.architectures.join(', ')})`).join(', ');
}

/** The family of a parsed config.json: by model_type, else by architectures; `file` names it in errors. */
export function familyOfConfigJson(json: unknown, file: string): ModelFamily<ModelConfig> {
  if (!isObject(json)) throw new ConfigError(file, '(root)', `expected a JSON object, got ${Array.isArray(json) ? 'an array' : JSON.stringify(json)}`);
  const type = json['model_type'];
  const arch = json['architectures'];
  if (type !== undefined && type !== null) {
    const f = FAMILIES.find((x) => x.modelTypes.includes(String(type)));
    if (!f) throw new ConfigError(file, 'model_type', `unsupported model type ${JSON.stringify(type)} (supported: ${supportedFamilies()})`);
    return f;
  }
  if (Array.isArray(arch)) {
    const f = FAMILIES.find((x) => arch.some((a) => x.architectures.includes(String(a))));
    if (!f) throw new ConfigError(file, 'architectures', `unsupported architecture ${JSON.stringify(arch)} (supported: ${supportedFamilies()})`);
    return f;
  }
  // transformers' LlavaConfig() itself saves no model_type in some old exports: LLaVA stays the default.
  return FAMILIES[0]!;
}

/** The family that parsed `config`. */
export function familyOf(config: { family: string }): ModelFamily<ModelConfig> {
  const f = FAMILIES.find((x) => x.name === config.family);
  if (!f) throw new Error(`no model family '${config.family}' (supported: ${supportedFamilies()})`);
  return f;
}

/** Every tensor a checkpoint of this config must (or may) hold. */
export const expectedTensors = (config: ModelConfig): ExpectedTensor[] => familyOf(config).expectedTensors(config);

/** Reads `<dir>/config.json` and parses it with its family. */
export async function loadModelConfig(dir: string): Promise<ModelConfig> {
  const file = join(dir, 'config.json');
  const json = await readConfigObject(file);
  return familyOfConfigJson(json, file).parseConfig(json, file);
}
