import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ConfigError } from './fields.js';
import { parseLlavaConfig } from './parse.js';
import type { LlavaConfig } from './types.js';

/** Reads and parses `<dir>/config.json`. */
export async function loadLlavaConfig(dir: string): Promise<LlavaConfig> {
  const file = join(dir, 'config.json');
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    throw new ConfigError(file, '(file)', `cannot read: ${(e as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new ConfigError(file, '(file)', `not valid JSON: ${(e as Error).message}`);
  }
  return parseLlavaConfig(json, file);
}
