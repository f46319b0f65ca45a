import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Tokenizer } from '@huggingface/tokenizers';
import { Template } from '@huggingface/jinja';
import { SafetensorsFile, openCheckpoint, tinyVocab, writeTinyCheckpoint } from '../src/index.js';
import { runTinyCli } from '../src/tiny/cli.js';

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'mtv-tiny-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

async function snapshot(dir: string): Promise<Map<string, Buffer>> {
  const out = new Map<string, Buffer>();
  for (const name of (await readdir(dir)).sort()) out.set(name, await readFile(join(dir, name)));
  return out;
}

describe('tiny checkpoint generator', () => {
  it('is deterministic: same options -> identical bytes; another seed -> other weights, same configs', async () => {
    const opts = { family: 'siglip-qwen2', naming: 'new', shards: 2, dtype: 'BF16', seed: 7 } as const;
    await writeTinyCheckpoint(join(root, 'a'), opts);
    await writeTinyCheckpoint(join(root, 'b'), opts);
    await writeTinyCheckpoint(join(root, 'c'), { ...opts, seed: 8 });
    const [a, b, c] = await Promise.all(['a', 'b', 'c'].map((d) => snapshot(join(root, d))));
    expect([...a!.keys()]).toEqual([
      'config.json', 'model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors', 'model.safetensors.index.json',
      'preprocessor_config.json', 'processor_config.json', 'tokenizer.json', 'tokenizer_config.json',
    ]);
    for (const [name, bytes] of a!) expect(bytes.equals(b!.get(name)!), name).toBe(true);
    expect(a!.get('config.json')!.equals(c!.get('config.json')!)).toBe(true);
    expect(a!.get('model-00001-of-00002.safetensors')!.equals(c!.get('model-00001-of-00002.safetensors')!)).toBe(false);
  });

  it('writes HF layout: index total_size and weight_map agree with the shards; safetensors metadata format pt', async () => {
    const dir = join(root, 'layout');
    await writeTinyCheckpoint(dir, { family: 'clip-llama', shards: 3, dtype: 'F16' });
    const index = JSON.parse(await readFile(join(dir, 'model.safetensors.index.json'), 'utf8'));
    let total = 0;
    const seen = new Set<string>();
    for (const shard of new Set(Object.values(index.weight_map) as string[])) {
      const f = await SafetensorsFile.open(join(dir, shard));
      expect(f.metadata).toEqual({ format: 'pt' });
      for (const name of f.names()) {
        expect(index.weight_map[name]).toBe(shard);
        const info = f.info(name);
        expect(info.dtype).toBe('F16');
        total += info.end - info.begin;
        seen.add(name);
      }
      await f.close();
    }
    expect(seen.size).toBe(Object.keys(index.weight_map).length);
    expect(index.metadata.total_size).toBe(total);
    expect([...seen].every((n) => n.startsWith('language_model.') || n.startsWith('vision_tower.') || n.startsWith('multi_modal_projector.'))).toBe(true);
    expect(seen.has('language_model.lm_head.weight')).toBe(true);
    const pre = JSON.parse(await readFile(join(dir, 'preprocessor_config.json'), 'utf8'));
    expect(pre).toMatchObject({ image_processor_type: 'CLIPImageProcessor', size: { shortest_edge: 24 }, crop_size: { height: 24, width: 24 }, do_center_crop: true, image_mean: [0.48145466, 0.4578275, 0.40821073] });
  });

  it('tokenizer.json loads in tokenizers.js; ids match the config; the chat template renders', async () => {
    for (const family of ['clip-llama', 'siglip-qwen2'] as const) {
      const dir = join(root, `tok-${family}`);
      const { config } = await writeTinyCheckpoint(dir, { family });
      const tj = JSON.parse(await readFile(join(dir, 'tokenizer.json'), 'utf8'));
      const tc = JSON.parse(await readFile(join(dir, 'tokenizer_config.json'), 'utf8'));
      const vocab = tinyVocab(family);
      expect(tj.model).toMatchObject({ type: 'WordLevel', unk_token: '<unk>' });
      expect(tj.pre_tokenizer).toEqual({ type: 'WhitespaceSplit' });
      expect(config.imageTokenIndex).toBe(vocab.get('<image>'));
      expect(config.imageTokenIndex).toBeLessThan(config.text.vocabSize);
      expect(vocab.size).toBeLessThanOrEqual(config.text.vocabSize);

      const messages = [{ role: 'user', content: [{ type: 'image' }, { type: 'text', text: 'What color is this?' }] }];
      const prompt = new Template(tc.chat_template).render({ messages, add_generation_prompt: true });
      const tok = new Tokenizer(tj, tc);
      const ids = tok.encode(prompt).ids;
      if (family === 'clip-llama') {
        expect(prompt).toBe('USER: <image>\nWhat color is this? ASSISTANT:');
        expect(ids).toEqual(['<s>', 'USER:', '<image>', 'What', 'color', 'is', 'this?', 'ASSISTANT:'].map((t) => vocab.get(t)));
      } else {
        expect(prompt).toBe('<|im_start|>user\n<image>\nWhat color is this?<|im_end|>\n<|im_start|>assistant\n');
        expect(ids).toEqual(['<|im_start|>', 'user', '<image>', 'What', 'color', 'is', 'this?', '<|im_end|>', '<|im_start|>', 'assistant'].map((t) => vocab.get(t)));
      }
    }
  });

  it('the CLI writes a checkpoint that opens; bad flags are refused with the usage', async () => {
    const dir = join(root, 'cli');
    const files = await runTinyCli(['--out', dir, '--family', 'clip-llama', '--naming', 'new', '--dtype', 'F16', '--seed', '3']);
    expect(files).toContain('model.safetensors');
    const ckpt = await openCheckpoint(dir);
    expect(ckpt.dtype('lm_head.weight')).toBe('F16');
    await ckpt.close();
    await expect(runTinyCli(['--out', dir, '--family', 'gpt2'])).rejects.toThrow(/--family: "gpt2" is not one of clip-llama, siglip-qwen2/);
    await expect(runTinyCli(['--family', 'clip-llama'])).rejects.toThrow(/--out and --family are required/);
    await expect(runTinyCli(['--out', dir, '--family', 'clip-llama', '--shards', '0'])).rejects.toThrow(/--shards: expected an integer >= 1/);
  });
});
