#!/usr/bin/env node
// node packages/model/dist/tiny/cli.js --out DIR --family clip-llama|siglip-qwen2
//   [--naming legacy|new] [--shards N] [--dtype F32|F16|BF16] [--seed S]
import { isMainModule } from '../files/main-module.js';
import { parseArgs } from 'node:util';
import { writeTinyCheckpoint, type TinyDType, type TinyNaming } from '../families/llava/tiny.js';
import { TINY_FAMILIES, type TinyFamily } from '../families/llava/tiny-presets.js';

export const TINY_USAGE = 'usage: tiny --out DIR --family clip-llama|siglip-qwen2 [--naming legacy|new] [--shards N] [--dtype F32|F16|BF16] [--seed S]';

function pick<T extends string>(flag: string, value: string, allowed: readonly T[]): T {
  if (!(allowed as readonly string[]).includes(value)) throw new Error(`--${flag}: ${JSON.stringify(value)} is not one of ${allowed.join(', ')}\n${TINY_USAGE}`);
  return value as T;
}

function int(flag: string, value: string, min: number): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < min) throw new Error(`--${flag}: expected an integer >= ${min}, got ${JSON.stringify(value)}\n${TINY_USAGE}`);
  return n;
}

/** Runs the generator for `argv` (without node and script); returns the files written. */
export async function runTinyCli(argv: string[]): Promise<string[]> {
  const { values } = parseArgs({
    args: argv,
    options: {
      out: { type: 'string' },
      family: { type: 'string' },
      naming: { type: 'string', default: 'legacy' },
      shards: { type: 'string', default: '1' },
      dtype: { type: 'string', default: 'F32' },
      seed: { type: 'string', default: '0' },
    },
    strict: true,
  });
  if (!values.out || !values.family) throw new Error(`--out and --family are required\n${TINY_USAGE}`);
  const result = await writeTinyCheckpoint(values.out, {
    family: pick<TinyFamily>('family', values.family, TINY_FAMILIES),
    naming: pick<TinyNaming>('naming', values.naming!, ['legacy', 'new']),
    shards: int('shards', values.shards!, 1),
    dtype: pick<TinyDType>('dtype', values.dtype!, ['F32', 'F16', 'BF16']),
    seed: int('seed', values.seed!, 0),
  });
  return result.files;
}

const isMain = isMainModule(import.meta.url);
if (isMain) {
  runTinyCli(process.argv.slice(2)).then(
    (files) => console.log(`wrote ${files.length} files: ${files.join(', ')}`),
    (e: Error) => {
      console.error(e.message);
      process.exit(1);
    },
  );
}
