// Reading a JSON file whose failure must be reported as the caller's own error type.
import { readFile } from 'node:fs/promises';

/**
 * Reads `file` as UTF-8 and parses it as JSON. Any failure (unreadable, not JSON) is thrown as
 * `fail(reason)`, where `reason` is the underlying message; the caller's error names the file.
 */
export async function readJsonFile(file: string, fail: (reason: string) => Error): Promise<unknown> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as unknown;
  } catch (e) {
    throw fail((e as Error).message);
  }
}
