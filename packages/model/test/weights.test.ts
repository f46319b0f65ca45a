import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdir, mkdtemp, readFile, rm, writeFile, cp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bf16BitsToF32, roundToF16 } from '@mtv/kernels';
import { CheckpointError, SafetensorsFile, expectedTensors, f32ToBf16Bits, openCheckpoint, writeSafetensors, writeTinyCheckpoint, type TensorInput, type TinyOptions } from '../src/index.js';

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'mtv-weights-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

let counter = 0;
async function tiny(opts: TinyOptions): Promise<string> {
  const dir = join(root, `ck${counter++}`);
  await writeTinyCheckpoint(dir, opts);
  return dir;
}

/** Reads every tensor of a safetensors file, lets `edit` change the map, writes it back. */
async function rewrite(path: string, edit: (m: Map<string, TensorInput>) => void): Promise<void> {
  const f = await SafetensorsFile.open(path);
  const m = new Map<string, TensorInput>();
  for (const name of f.names()) {
    const { dtype, shape } = f.info(name);
    m.set(name, { dtype, shape, data: await f.readBytes(name) });
  }
  await f.close();
  edit(m);
  await writeSafetensors(path, m, { format: 'pt' });
}

async function openError(dir: string): Promise<string> {
  try {
    const c = await openCheckpoint(dir);
    await c.close();
  } catch (e) {
    expect(e).toBeInstanceOf(CheckpointError);
    return (e as Error).message;
  }
  throw new Error(`expected ${dir} to fail to open`);
}

async function readAll(dir: string): Promise<Map<string, Float32Array>> {
  const c = await openCheckpoint(dir);
  const out = new Map<string, Float32Array>();
  for (const name of c.list()) out.set(name, await c.readF32(name));
  await c.close();
  return out;
}

describe('openCheckpoint', () => {
  it('legacy single file and new-named shards hold the same canonical tensors and values', async () => {
    const a = await readAll(await tiny({ family: 'clip-llama', naming: 'legacy', seed: 1 }));
    const b = await readAll(await tiny({ family: 'clip-llama', naming: 'new', shards: 3, seed: 1 }));
    expect([...a.keys()]).toEqual([...b.keys()]);
    for (const [name, v] of a) expect(b.get(name), name).toEqual(v);
    expect(a.has('lm_head.weight')).toBe(true);
    expect(a.has('model.language_model.layers.1.self_attn.q_proj.weight')).toBe(true);
    expect(a.has('model.language_model.layers.0.self_attn.q_proj.bias')).toBe(false); // llama: no bias
  });

  it('shapes, listing and lm head resolution follow the config (qwen2: q/k/v biases, tied embeddings)', async () => {
    const c = await openCheckpoint(await tiny({ family: 'siglip-qwen2', shards: 2 }));
    try {
      const t = c.config.text;
      expect(c.shape('model.language_model.layers.2.self_attn.k_proj.weight')).toEqual([t.numKvHeads * t.headDim, t.hiddenSize]);
      expect(c.shape('model.language_model.layers.2.self_attn.k_proj.bias')).toEqual([t.numKvHeads * t.headDim]);
      expect(c.has('model.language_model.layers.0.self_attn.o_proj.bias')).toBe(false);
      expect(c.shape('model.vision_tower.vision_model.embeddings.patch_embedding.bias')).toEqual([32]);
      expect(c.has('model.vision_tower.vision_model.embeddings.class_embedding')).toBe(false);
      expect(c.has('lm_head.weight')).toBe(false);
      expect(c.lmHeadName).toBe('model.language_model.embed_tokens.weight');
      const expected = expectedTensors(c.config).filter((e) => e.name !== 'lm_head.weight').map((e) => e.name).sort();
      expect(c.list()).toEqual(expected);
      expect(c.source('model.language_model.norm.weight').diskName).toBe('language_model.model.norm.weight');
      expect(() => c.shape('language_model.model.norm.weight')).toThrow(/tensor 'language_model.model.norm.weight': no such tensor in the checkpoint/);
    } finally {
      await c.close();
    }
  });

  it('F16 and BF16 checkpoints read as the rounded F32 values; packed halves agree with F16 storage', async () => {
    const f32 = await openCheckpoint(await tiny({ family: 'clip-llama', seed: 5 }));
    const f16 = await openCheckpoint(await tiny({ family: 'clip-llama', dtype: 'F16', seed: 5 }));
    const bf16 = await openCheckpoint(await tiny({ family: 'clip-llama', dtype: 'BF16', naming: 'new', shards: 2, seed: 5 }));
    try {
      for (const name of ['model.language_model.layers.0.mlp.down_proj.weight', 'model.vision_tower.vision_model.embeddings.patch_embedding.weight', 'model.multi_modal_projector.linear_1.bias']) {
        const ref = await f32.readF32(name);
        expect(await f16.readF32(name)).toEqual(ref.map(roundToF16));
        expect(await bf16.readF32(name)).toEqual(ref.map((v) => bf16BitsToF32(f32ToBf16Bits(v))));
        expect(await f16.readF16Packed(name)).toEqual(await f32.readF16Packed(name)); // passthrough == RNE conversion
        expect(await f16.readF64(name)).toEqual(Float64Array.from(ref.map(roundToF16)));
      }
    } finally {
      await Promise.all([f32.close(), f16.close(), bf16.close()]);
    }
  });

  it('ignores rotary inv_freq and position_ids; accepts absent unused vision layers and post_layernorm', async () => {
    const dir = await tiny({ family: 'clip-llama' });
    await rewrite(join(dir, 'model.safetensors'), (m) => {
      m.set('language_model.model.layers.0.self_attn.rotary_emb.inv_freq', { dtype: 'F32', shape: [8], data: new Float32Array(8) });
      m.set('vision_tower.vision_model.embeddings.position_ids', { dtype: 'I64', shape: [1, 10], data: new BigInt64Array(10) });
      for (const k of [...m.keys()]) if (k.includes('encoder.layers.2.') || k.includes('post_layernorm')) m.delete(k);
    });
    const c = await openCheckpoint(dir);
    expect(c.list().some((n) => n.includes('inv_freq') || n.includes('position_ids') || n.includes('layers.2.'))).toBe(false);
    expect(c.config.visionHiddenStateIndex).toBe(2);
    await c.close();
  });

  it('hash: stable for the same bytes, changes with any tensor byte', async () => {
    const d1 = await tiny({ family: 'siglip-qwen2', seed: 2 });
    const d2 = await tiny({ family: 'siglip-qwen2', seed: 2 });
    const h = async (d: string): Promise<string> => {
      const c = await openCheckpoint(d);
      const out = await c.hash();
      await c.close();
      return out;
    };
    const h1 = await h(d1);
    expect(h1).toMatch(/^[0-9a-f]{64}$/);
    expect(await h(d2)).toBe(h1);
    const path = join(d2, 'model.safetensors');
    const bytes = await readFile(path);
    bytes[bytes.length - 1]! ^= 1;
    await writeFile(path, bytes);
    expect(await h(d2)).not.toBe(h1);
  });
});

describe('openCheckpoint errors name the file and the tensor', () => {
  it('missing tensor (single file)', async () => {
    const dir = await tiny({ family: 'clip-llama' });
    await rewrite(join(dir, 'model.safetensors'), (m) => m.delete('language_model.model.norm.weight'));
    expect(await openError(dir)).toMatch(/model\.safetensors: tensor 'model\.language_model\.norm\.weight': missing \(looked for 'model\.language_model\.norm\.weight' and 'language_model\.model\.norm\.weight'; expected shape \[64\]/);
  });

  it('missing untied lm_head and a missing used vision layer', async () => {
    const dir = await tiny({ family: 'clip-llama', naming: 'new' });
    await cp(dir, `${dir}-b`, { recursive: true });
    await rewrite(join(dir, 'model.safetensors'), (m) => m.delete('lm_head.weight'));
    expect(await openError(dir)).toMatch(/tensor 'lm_head\.weight': missing/);
    await rewrite(join(`${dir}-b`, 'model.safetensors'), (m) => m.delete('model.vision_tower.vision_model.encoder.layers.1.mlp.fc2.bias'));
    expect(await openError(`${dir}-b`)).toMatch(/tensor 'model\.vision_tower\.vision_model\.encoder\.layers\.1\.mlp\.fc2\.bias': missing/);
  });

  it('wrong shape in a shard names that shard', async () => {
    const dir = await tiny({ family: 'siglip-qwen2', shards: 2 });
    const index = JSON.parse(await readFile(join(dir, 'model.safetensors.index.json'), 'utf8'));
    const name = 'language_model.model.layers.1.self_attn.q_proj.weight';
    const shard = index.weight_map[name] as string;
    await rewrite(join(dir, shard), (m) => {
      const t = m.get(name)!;
      m.set(name, { ...t, shape: [t.shape[1]!, t.shape[0]! / 2, 2] });
    });
    const msg = await openError(dir);
    expect(msg).toContain(join(dir, shard));
    expect(msg).toMatch(/tensor 'language_model\.model\.layers\.1\.self_attn\.q_proj\.weight': shape \[64, 32, 2\] but config\.json implies \[64, 64\]/);
  });

  it('index disagreeing with the shards, both namings at once, a missing shard, no weights at all', async () => {
    const dir = await tiny({ family: 'clip-llama', shards: 2 });
    const indexPath = join(dir, 'model.safetensors.index.json');
    const index = JSON.parse(await readFile(indexPath, 'utf8'));
    const [name, shard] = Object.entries(index.weight_map as Record<string, string>)[0]!;
    const other = shard.includes('00001') ? 'model-00002-of-00002.safetensors' : 'model-00001-of-00002.safetensors';
    await writeFile(indexPath, JSON.stringify({ ...index, weight_map: { ...index.weight_map, [name]: other } }));
    expect(await openError(dir)).toMatch(new RegExp(`${other.replace(/\./g, '\\.')}: tensor '${name.replace(/\./g, '\\.')}': listed in model\\.safetensors\\.index\\.json but not stored in this shard`));
    await writeFile(indexPath, JSON.stringify({ ...index, weight_map: { ...index.weight_map, [name]: 'model-00009-of-00009.safetensors' } }));
    expect(await openError(dir)).toMatch(/model\.safetensors\.index\.json: weight_map names shard 'model-00009-of-00009\.safetensors', which does not exist/);

    const dup = await tiny({ family: 'clip-llama' });
    await rewrite(join(dup, 'model.safetensors'), (m) => m.set('model.language_model.norm.weight', m.get('language_model.model.norm.weight')!));
    expect(await openError(dup)).toMatch(/tensor '(model\.language_model|language_model\.model)\.norm\.weight': duplicates/);

    const empty = join(root, 'empty');
    await cp(join(dup, 'config.json'), join(empty, 'config.json'), { recursive: true });
    expect(await openError(empty)).toMatch(/empty: no model\.safetensors and no model\.safetensors\.index\.json/);
  });

  it('an index naming `..`, `.` or a directory is refused naming the index file, not a bare EISDIR (issue 11 item 8)', async () => {
    const dir = await tiny({ family: 'clip-llama', shards: 2 });
    const indexPath = join(dir, 'model.safetensors.index.json');
    const index = JSON.parse(await readFile(indexPath, 'utf8'));
    const [name] = Object.keys(index.weight_map as Record<string, string>);
    for (const bad of ['..', '.']) {
      await writeFile(indexPath, JSON.stringify({ ...index, weight_map: { ...index.weight_map, [name!]: bad } }));
      expect(await openError(dir)).toBe(`${indexPath}: weight_map names a file outside the checkpoint directory: '${bad}'`);
    }
    await mkdir(join(dir, 'sub.safetensors'));
    await writeFile(indexPath, JSON.stringify({ ...index, weight_map: { ...index.weight_map, [name!]: 'sub.safetensors' } }));
    expect(await openError(dir)).toBe(`${indexPath}: weight_map names shard 'sub.safetensors', which is not a regular file in ${dir}`);
  });

  it('a config.json without text_config is reported as such, not as a projector shape mismatch (issue 11 item 8)', async () => {
    const dir = await tiny({ family: 'clip-llama' });
    const cfg = JSON.parse(await readFile(join(dir, 'config.json'), 'utf8'));
    delete cfg.text_config;
    await writeFile(join(dir, 'config.json'), JSON.stringify(cfg));
    expect(await openError(dir)).toMatch(new RegExp(`^${join(dir, 'config.json').replace(/\./g, '\\.')}: has no text_config, so LlamaConfig\\(\\) \\(hidden_size 4096, 32 layers, vocab_size 32000\\) was assumed, and the weights do not match: .*; add the model's text_config to config\\.json$`));
  });

  it('a corrupt shard surfaces the safetensors error with the file name', async () => {
    const dir = await tiny({ family: 'clip-llama' });
    const path = join(dir, 'model.safetensors');
    const bytes = await readFile(path);
    await writeFile(path, bytes.subarray(0, bytes.length - 10));
    await expect(openCheckpoint(dir)).rejects.toThrow(/model\.safetensors: tensor '[^']+': data_offsets .* run past the end/);
  });
});
