// processor_config.json / preprocessor_config.json against the vision tower: the tiny generator
// derives both from the final config (configOverrides included), and LlavaProcessor.load refuses a
// processor_config.json whose image-token count (LlavaProcessor's formula, or num_image_tokens)
// disagrees with the tower's imageSeqLength, naming the file and both numbers.
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LlavaProcessor, loadModelConfig, loadTokenizer, writeTinyCheckpoint, type LlavaConfig, type TinyOptions } from '../src/index.js';
import { useTempDir } from './temp-dir.js';

let root = '';
useTempDir('mtv-llava-proc-', (d) => (root = d));

type Json = Record<string, unknown>;
const readJson = async (file: string): Promise<Json> => JSON.parse(await readFile(file, 'utf8')) as Json;

async function load(dir: string): Promise<LlavaProcessor> {
  return LlavaProcessor.load(dir, (await loadModelConfig(dir)) as LlavaConfig, await loadTokenizer(dir));
}

/** The number of image tokens one `<image>` becomes in a prepared prompt, and the pixel shape. */
async function imageTokens(p: LlavaProcessor, text: string): Promise<{ tokens: number; shape: readonly number[] }> {
  const img = { width: 37, height: 29, data: new Uint8Array(37 * 29 * 3).fill(90), source: 'grey' };
  const out = await p.prepare({ text, images: [img] });
  return { tokens: out.imagePositions[0]!.length, shape: out.pixels!.shape };
}

const CASES: { name: string; opts: TinyOptions; text: string; size: number; patch: number; strategy: string; seq: number }[] = [
  {
    // CLIP 40/10 with strategy full: 16 patches + the class token
    name: 'clip-llama, image_size 40, patch_size 10, strategy full',
    opts: { family: 'clip-llama', configOverrides: { vision: { image_size: 40, patch_size: 10 }, top: { vision_feature_select_strategy: 'full' } } },
    text: 'USER: <image> What is this? ASSISTANT:', size: 40, patch: 10, strategy: 'full', seq: 17,
  },
  {
    name: 'siglip-qwen2, image_size 48, patch_size 12',
    opts: { family: 'siglip-qwen2', configOverrides: { vision: { image_size: 48, patch_size: 12 } } },
    text: '<|im_start|>user <image> What is this? <|im_end|>', size: 48, patch: 12, strategy: 'full', seq: 16,
  },
];

describe('tiny generator: processor files follow configOverrides', () => {
  it.each(CASES)('$name', async (c) => {
    const dir = join(root, c.name.replace(/\W+/g, '-'));
    const ckpt = await writeTinyCheckpoint(dir, c.opts);
    expect(ckpt.config.imageSeqLength).toBe(c.seq);
    const pre = await readJson(join(dir, 'preprocessor_config.json'));
    if (c.opts.family === 'clip-llama') {
      expect(pre['crop_size']).toEqual({ height: c.size, width: c.size });
      expect(pre['size']).toEqual({ shortest_edge: c.size });
    } else {
      expect(pre['size']).toEqual({ height: c.size, width: c.size });
    }
    const proc = await readJson(join(dir, 'processor_config.json'));
    expect([proc['patch_size'], proc['vision_feature_select_strategy']]).toEqual([c.patch, c.strategy]);
    const p = await load(dir);
    expect(await imageTokens(p, c.text)).toEqual({ tokens: c.seq, shape: [1, 3, c.size, c.size] });
  });
});

describe('LlavaProcessor.load checks processor_config.json against the tower', () => {
  const fresh = async (name: string): Promise<string> => {
    const dir = join(root, name);
    await writeTinyCheckpoint(dir, { family: 'clip-llama' }); // CLIP 24/8, strategy default: 9 image tokens
    return dir;
  };
  const patchProcessor = async (dir: string, patch: Json): Promise<void> => {
    const file = join(dir, 'processor_config.json');
    await writeFile(file, JSON.stringify({ ...(await readJson(file)), ...patch }));
  };

  it('accepts the generated file, and a checkpoint without one', async () => {
    const dir = await fresh('ok');
    expect((await load(dir)).config.imageSeqLength).toBe(9);
    await rm(join(dir, 'processor_config.json'));
    expect((await load(dir)).config.imageSeqLength).toBe(9);
  });

  it('refuses a patch_size that gives another count, naming the file and both numbers', async () => {
    const dir = await fresh('patch');
    await patchProcessor(dir, { patch_size: 4 }); // (24 // 4)^2 + 1 - 1 = 36
    const file = join(dir, 'processor_config.json');
    const err = await load(dir).then(() => new Error('loaded'), (e: unknown) => e as Error);
    expect(err.message).toContain(file);
    expect(err.message).toMatch(/expand each <image> to 36 tokens.*the vision tower gives 9 image features/);
  });

  it('refuses a strategy or num_additional_image_tokens that changes the count', async () => {
    const dir = await fresh('strategy');
    await patchProcessor(dir, { vision_feature_select_strategy: 'full' }); // 9 + 1
    await expect(load(dir)).rejects.toThrow(/processor_config\.json.*to 10 tokens.*gives 9 image features/);
    await patchProcessor(dir, { vision_feature_select_strategy: 'default', num_additional_image_tokens: 0 }); // 9 - 1
    await expect(load(dir)).rejects.toThrow(/to 8 tokens.*gives 9 image features/);
  });

  it('refuses an explicit num_image_tokens that disagrees', async () => {
    const dir = await fresh('num');
    await patchProcessor(dir, { num_image_tokens: 576 });
    await expect(load(dir)).rejects.toThrow(/processor_config\.json: num_image_tokens: 576 image tokens per image, but the vision tower gives 9/);
    await patchProcessor(dir, { num_image_tokens: 9 });
    expect((await load(dir)).config.imageSeqLength).toBe(9);
  });

  it('names a processor_config.json that is not JSON', async () => {
    const dir = await fresh('bad-json');
    await writeFile(join(dir, 'processor_config.json'), '{ not json');
    await expect(load(dir)).rejects.toThrow(/processor_config\.json: \(file\): not valid JSON/);
  });
});
