// Reading a JSON config file (config.json, processor_config.json, ...) as an object, with errors that
// name the file: unreadable, not JSON, or not an object.
import { readFile } from 'node:fs/promises';
import { ConfigError, isObject, type Json } from './fields.js';

/** The object in `file`; with `optional`, null when the file does not exist. */
export async function readConfigObject(file: string, opts: { optional: true }): Promise<Json | null>;
export async function readConfigObject(file: string, opts?: { optional?: false }): Promise<Json>;
export async function readConfigObject(file: string, opts: { optional?: boolean } = {}): Promise<Json | null> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    if (opts.optional && (e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new ConfigError(file, '(file)', `cannot read: ${(e as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new ConfigError(file, '(file)', `not valid JSON: ${(e as Error).message}`);
  }
  if (!isObject(json)) throw new ConfigError(file, '(root)', `expected a JSON object, got ${Array.isArray(json) ? 'an array' : JSON.stringify(json)}`);
  return json;
}
