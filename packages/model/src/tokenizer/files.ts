// Reading the JSON files of a Hugging Face model directory, with errors that name the file.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { TokenizerError } from './errors.js';

export type JsonObject = Record<string, unknown>;

export function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Reads `dir/name`; `null` when the file does not exist (any other read error is thrown). */
export async function readOptionalText(dir: string, name: string): Promise<string | null> {
  try {
    return await readFile(join(dir, name), 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new TokenizerError(dir, `cannot read ${name}: ${(e as Error).message}`);
  }
}

/** Parses a JSON object; the error names the file. */
export function parseJsonObject(text: string, dir: string, name: string): JsonObject {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new TokenizerError(dir, `${name} is not valid JSON: ${(e as Error).message}`);
  }
  if (!isObject(v)) throw new TokenizerError(dir, `${name} must hold a JSON object, got ${Array.isArray(v) ? 'an array' : typeof v}`);
  return v;
}
