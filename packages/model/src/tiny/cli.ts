#!/usr/bin/env node
// node packages/model/dist/tiny/cli.js --out DIR --family clip-llama|siglip-qwen2|smolvlm|idefics2|llava-next|llava-onevision
//   [--naming legacy|new] [--shards N] [--dtype F32|F16|BF16] [--seed S] [--no-image-splitting]
// clip-llama and siglip-qwen2 are LLaVA checkpoints; smolvlm is Idefics3 (SmolVLM-shaped), idefics2 Idefics2;
// llava-next is LLaVA-NeXT (llava-v1.6-mistral-shaped), llava-onevision LLaVA-OneVision (qwen2-0.5b-shaped).
import { isMainModule } from '../files/main-module.js';
import { parseArgs } from 'node:util';
import { writeTinyIdefics2 } from '../families/idefics2/tiny.js';
import { writeTinyIdefics3 } from '../families/idefics3/tiny.js';
import { writeTinyCheckpoint, type TinyDType, type TinyNaming } from '../families/llava/tiny.js';
import { writeTinyLlavaNext, writeTinyLlavaOnevision } from '../families/llava-next/tiny.js';
import { TINY_FAMILIES, type TinyFamily } from '../families/llava/tiny-presets.js';

const IDEFICS_FAMILIES = ['smolvlm', 'idefics2'] as const;
const ANYRES_FAMILIES = ['llava-next', 'llava-onevision'] as const;
export const TINY_USAGE = 'usage: tiny --out DIR --family clip-llama|siglip-qwen2|smolvlm|idefics2|llava-next|llava-onevision [--naming legacy|new] [--shards N] [--dtype F32|F16|BF16] [--seed S] [--no-image-splitting]\n  (--naming applies to the LLaVA, LLaVA-NeXT and OneVision families, --shards to LLaVA; --no-image-splitting to smolvlm and idefics2)';

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
      'no-image-splitting': { type: 'boolean', default: false },
    },
    strict: true,
  });
  if (!values.out || !values.family) throw new Error(`--out and --family are required\n${TINY_USAGE}`);
  const family = pick('family', values.family, [...TINY_FAMILIES, ...IDEFICS_FAMILIES, ...ANYRES_FAMILIES]);
  const seed = int('seed', values.seed!, 0);
  if (family === 'llava-next' || family === 'llava-onevision') {
    const write = family === 'llava-next' ? writeTinyLlavaNext : writeTinyLlavaOnevision;
    const opts = { seed, dtype: pick<TinyDType>('dtype', values.dtype!, ['F32', 'F16', 'BF16']), naming: pick<TinyNaming>('naming', values.naming!, ['legacy', 'new']) };
    return (await write(values.out, opts)).files;
  }
  if (family === 'smolvlm' || family === 'idefics2') {
    const doImageSplitting = !values['no-image-splitting'];
    const dtype = pick<TinyDType>('dtype', values.dtype!, ['F32', 'F16', 'BF16']);
    if (family === 'idefics2' && dtype !== 'F32') throw new Error(`--dtype: the idefics2 generator writes F32 only\n${TINY_USAGE}`);
    const written = family === 'smolvlm' ? await writeTinyIdefics3(values.out, { seed, doImageSplitting, dtype }) : await writeTinyIdefics2(values.out, { seed, doImageSplitting });
    return written.files;
  }
  const result = await writeTinyCheckpoint(values.out, {
    family: family as TinyFamily,
    naming: pick<TinyNaming>('naming', values.naming!, ['legacy', 'new']),
    shards: int('shards', values.shards!, 1),
    dtype: pick<TinyDType>('dtype', values.dtype!, ['F32', 'F16', 'BF16']),
    seed,
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
