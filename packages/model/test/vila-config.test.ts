// VILA-1.5: the sub-folder checkpoint layout (each missing part named), config.json parsing and the
// refusals of what we do not run, canonical names, hashing over every file, and the prompt the
// processor builds (the llama_3 / vicuna_v1 templates, tokenizer_image_token's chunking).
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  CheckpointError, familyOfConfigJson, loadTokenizer, openCheckpoint, parseVilaConfig, vilaPromptText, vilaTemplateFor, vilaTokenize,
  writeTinyVila, writeWordLevelTokenizer,
} from '../src/index.js';
import { VilaProcessor, type VilaConfig } from '../src/families/vila/index.js';
import { SafetensorsFile } from '../src/safetensors/reader.js';
import { encodeFloats, writeSafetensors, type TensorInput } from '../src/safetensors/writer.js';
import { useTempDir } from './temp-dir.js';

let tmp = '';
useTempDir('vila-config-', (d) => (tmp = d));
let n = 0;
const fresh = async (opts: Parameters<typeof writeTinyVila>[1] = {}): Promise<string> => {
  const dir = join(tmp, `ck${n++}`);
  await writeTinyVila(dir, opts);
  return dir;
};
const esc = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** The tiny top-level config.json, edited. */
async function topJson(edit: (j: Record<string, unknown>) => void): Promise<Record<string, unknown>> {
  const dir = await fresh();
  const j = JSON.parse(await readFile(join(dir, 'config.json'), 'utf8')) as Record<string, unknown>;
  edit(j);
  return j;
}
const sub = (j: Record<string, unknown>, key: string): Record<string, unknown> => j[key] as Record<string, unknown>;

describe('VILA checkpoint layout', () => {
  it('opens the three sub-folders: canonical names, the tokenizer folder, nothing unexpected', async () => {
    const dir = await fresh();
    const ck = await openCheckpoint(dir);
    try {
      expect(ck.family.name).toBe('vila');
      expect(ck.tokenizerDir).toBe(join(dir, 'llm'));
      expect(ck.unexpected).toEqual([]);
      expect(ck.has('model.language_model.layers.0.self_attn.q_proj.weight')).toBe(true);
      expect(ck.has('lm_head.weight')).toBe(true);
      expect(ck.has('model.vision_tower.vision_model.encoder.layers.0.mlp.fc1.weight')).toBe(true);
      expect(ck.source('model.mm_projector.layers.2.weight')).toEqual({ file: join(dir, 'mm_projector', 'model.safetensors'), diskName: 'layers.2.weight' });
      expect(ck.source('model.language_model.norm.weight')).toEqual({ file: join(dir, 'llm', 'model.safetensors'), diskName: 'model.norm.weight' });
      expect(ck.shardPaths).toEqual(['llm', 'vision_tower', 'mm_projector'].map((f) => join(dir, f, 'model.safetensors')));
      // 5x5 SigLIP grid -> padded 6x6 -> 9 merged tokens
      expect(ck.config.family === 'vila' && ck.config.imageSeqLength).toBe(9);
    } finally {
      await ck.close();
    }
  });

  it('names a missing sub-folder, its config.json and its safetensors', async () => {
    let dir = await fresh();
    await rm(join(dir, 'mm_projector'), { recursive: true });
    await expect(openCheckpoint(dir)).rejects.toThrow(`VILA checkpoint ${dir}: missing mm_projector/ (expected mm_projector/config.json and its safetensors)`);
    dir = await fresh();
    await rm(join(dir, 'llm', 'config.json'));
    await expect(openCheckpoint(dir)).rejects.toThrow(new RegExp(`VILA checkpoint ${esc(dir)}: missing llm/config\\.json`));
    dir = await fresh();
    await rm(join(dir, 'vision_tower', 'model.safetensors'));
    await expect(openCheckpoint(dir)).rejects.toThrow(new RegExp(`VILA checkpoint ${esc(dir)}: missing vision_tower/model\\.safetensors \\(and no vision_tower/model\\.safetensors\\.index\\.json\\)`));
  });

  it('names a missing tensor with its folder and on-disk name', async () => {
    const dir = await fresh();
    const file = join(dir, 'mm_projector', 'model.safetensors');
    const st = await SafetensorsFile.open(file);
    const kept = new Map<string, TensorInput>();
    for (const name of st.names()) if (name !== 'layers.2.weight') kept.set(name, { dtype: 'F32', shape: [...st.info(name).shape], data: encodeFloats(await st.readF32(name), 'F32') });
    await st.close();
    await writeSafetensors(file, kept);
    await expect(openCheckpoint(dir)).rejects.toThrow(/tensor 'model\.mm_projector\.layers\.2\.weight': missing \(looked for 'model\.mm_projector\.layers\.2\.weight' and 'mm_projector\/layers\.2\.weight'; expected shape \[64, 128\]/);
  });

  it('a sub-folder may be sharded with its own model.safetensors.index.json (as Llama-3-VILA1.5-8B llm/)', async () => {
    const dir = await fresh();
    const file = join(dir, 'llm', 'model.safetensors');
    const st = await SafetensorsFile.open(file);
    const names = st.names().sort();
    const shards = [new Map<string, TensorInput>(), new Map<string, TensorInput>()];
    const weightMap: Record<string, string> = {};
    for (const [i, name] of names.entries()) {
      shards[i % 2]!.set(name, { dtype: 'F32', shape: [...st.info(name).shape], data: encodeFloats(await st.readF32(name), 'F32') });
      weightMap[name] = `model-0000${(i % 2) + 1}-of-00002.safetensors`;
    }
    await st.close();
    await rm(file);
    await writeSafetensors(join(dir, 'llm', 'model-00001-of-00002.safetensors'), shards[0]!);
    await writeSafetensors(join(dir, 'llm', 'model-00002-of-00002.safetensors'), shards[1]!);
    await writeFile(join(dir, 'llm', 'model.safetensors.index.json'), JSON.stringify({ metadata: {}, weight_map: weightMap }));
    const ck = await openCheckpoint(dir);
    try {
      expect(ck.source('model.language_model.norm.weight').file).toBe(join(dir, 'llm', weightMap['model.norm.weight']!));
      expect(ck.shardPaths.filter((p) => p.includes(`${join(dir, 'llm')}/`)).length).toBe(2);
    } finally {
      await ck.close();
    }
    // an index entry that its shard does not hold is named
    weightMap['model.norm.weight'] = weightMap['model.norm.weight']!.includes('00001') ? 'model-00002-of-00002.safetensors' : 'model-00001-of-00002.safetensors';
    await writeFile(join(dir, 'llm', 'model.safetensors.index.json'), JSON.stringify({ metadata: {}, weight_map: weightMap }));
    await expect(openCheckpoint(dir)).rejects.toThrow(/llm\/model-0000\d-of-00002\.safetensors: tensor 'model\.norm\.weight': listed in model\.safetensors\.index\.json but not stored in this shard/);
  });

  it("reads each folder's own config.json: a tower config that disagrees with its weights is refused", async () => {
    const dir = await fresh();
    const f = join(dir, 'vision_tower', 'config.json');
    const j = JSON.parse(await readFile(f, 'utf8')) as Record<string, unknown>;
    await writeFile(f, JSON.stringify({ ...j, intermediate_size: 48 }));
    await expect(openCheckpoint(dir)).rejects.toThrow(/vision_tower\/model\.safetensors: tensor 'vision_model\.encoder\.layers\.0\.mlp\.fc1\.weight': shape \[64, 32\] but config\.json implies \[48, 32\]/);
  });

  it('hashes every config.json and safetensors of the layout', async () => {
    const dir = await fresh();
    const hash = async (): Promise<string> => {
      const ck = await openCheckpoint(dir);
      try {
        return await ck.hash();
      } finally {
        await ck.close();
      }
    };
    const h0 = await hash();
    expect(await hash()).toBe(h0);
    const cfg = join(dir, 'mm_projector', 'config.json');
    const text = await readFile(cfg, 'utf8');
    await writeFile(cfg, `${text} `);
    const h1 = await hash();
    expect(h1).not.toBe(h0);
    await writeFile(cfg, text);
    expect(await hash()).toBe(h0);
    // a weight byte in llm/
    const st = join(dir, 'llm', 'model.safetensors');
    const bytes = new Uint8Array(await readFile(st));
    bytes[bytes.length - 1] ^= 1;
    await writeFile(st, bytes);
    expect(await hash()).not.toBe(h0);
  });
});

describe('VILA config.json', () => {
  it('is chosen by model_type llava_llama and parses the published fields', async () => {
    const j = await topJson(() => {});
    expect(familyOfConfigJson(j, 'config.json').name).toBe('vila');
    const c = parseVilaConfig(j, 'config.json');
    expect(c.visionHiddenStateIndex).toBe(2); // 3 layers, select -2
    expect(c.visionSelectFeature).toBe('cls_patch');
    expect([c.grid, c.mergedGrid, c.imageSeqLength]).toEqual([5, 3, 9]);
    expect(c.projector).toEqual({ type: 'mlp_downsample' });
    expect(c.imageAspectRatio).toBe('resize');
    expect(c.imageTokenIndex).toBe(c.text.vocabSize);
    expect(c.text.rope.theta).toBe(500000);
  });

  it('mm_vision_select_feature patch drops the first token (linear projector)', async () => {
    const j = await topJson((x) => {
      x['mm_vision_select_feature'] = 'patch';
      sub(x, 'mm_projector_cfg')['mm_projector_type'] = 'linear';
    });
    const c = parseVilaConfig(j, 'config.json');
    expect([c.visionTokens, c.imageSeqLength]).toEqual([24, 24]);
  });

  const refusals: Array<[string, (j: Record<string, unknown>) => void, RegExp]> = [
    ['projector identity', (j) => void (sub(j, 'mm_projector_cfg')['mm_projector_type'] = 'identity'), /mm_projector_cfg\.mm_projector_type: projector "identity" is not supported \(supported: mlp_downsample, linear, mlp<N>x_gelu\)/],
    ['projector mlp_downsample_2x2_fix', (j) => void (sub(j, 'mm_projector_cfg')['mm_projector_type'] = 'mlp_downsample_2x2_fix'), /projector "mlp_downsample_2x2_fix" is not supported/],
    ['projector model type', (j) => void (sub(j, 'mm_projector_cfg')['model_type'] = 'other'), /mm_projector_cfg\.model_type: unsupported projector model type "other" \(supported: v2l_projector\)/],
    ['s2', (j) => void (j['s2'] = true), /config\.json: s2: S2 multi-scale vision features are not supported/],
    ['dynamic_s2', (j) => void (j['dynamic_s2'] = true), /dynamic_s2: dynamic S2 tiling \(NVILA\) is not supported/],
    ['im start/end', (j) => void (j['mm_use_im_start_end'] = true), /mm_use_im_start_end: image start\/end tokens are not supported/],
    ['aspect ratio', (j) => void (j['image_aspect_ratio'] = 'dynamic_s2'), /image_aspect_ratio: "dynamic_s2" is not supported \(supported: resize, pad/],
    ['CLIP tower', (j) => void (sub(j, 'vision_tower_cfg')['architectures'] = ['CLIPVisionModel']), /vision_tower_cfg\.architectures: unsupported vision tower architecture \["CLIPVisionModel"\] \(supported: SiglipVisionModel\)/],
    ['Qwen2 llm', (j) => void (sub(j, 'llm_cfg')['model_type'] = 'qwen2'), /llm_cfg\.model_type: unsupported value "qwen2" \(supported: llama\)/],
    ['llm architecture', (j) => void (sub(j, 'llm_cfg')['architectures'] = ['MistralForCausalLM']), /llm_cfg\.architectures: unsupported language model architecture \["MistralForCausalLM"\] \(supported: LlamaForCausalLM\)/],
    ['patch + mlp_downsample', (j) => void (j['mm_vision_select_feature'] = 'patch'), /mm_vision_select_feature: 'patch' leaves 24 vision tokens, not a square grid, which mlp_downsample cannot merge/],
    ['select layer', (j) => void (j['mm_vision_select_layer'] = -5), /mm_vision_select_layer: -5 is outside the 4 vision hidden states/],
    ['mm_hidden_size', (j) => void (j['mm_hidden_size'] = 48), /mm_hidden_size: 48 differs from the vision tower's hidden_size 32/],
    ['hidden_size', (j) => void (j['hidden_size'] = 48), /config\.json: hidden_size: 48 differs from the language model's hidden_size 64/],
    ['vision_resolution', (j) => void (j['vision_resolution'] = 80), /vision_resolution: 80 differs from the tower's image_size 40/],
    ['llm_cfg as a path', (j) => void (j['llm_cfg'] = './llm'), /llm_cfg: names a path \("\.\/llm"\); open the checkpoint directory so llm\/config\.json is read/],
    ['no mm_projector_cfg', (j) => void delete j['mm_projector_cfg'], /mm_projector_cfg: missing/],
  ];
  it.each(refusals)('refuses %s by name', async (_, edit, message) => {
    const j = await topJson(edit);
    expect(() => parseVilaConfig(j, 'config.json')).toThrow(message);
  });

  it('refuses an option in a sub-folder config.json, naming that file', async () => {
    const dir = await fresh();
    const f = join(dir, 'mm_projector', 'config.json');
    const j = JSON.parse(await readFile(f, 'utf8')) as Record<string, unknown>;
    await writeFile(f, JSON.stringify({ ...j, mm_projector_type: 'identity' }));
    await expect(openCheckpoint(dir)).rejects.toThrow(`${f}: mm_projector_type: projector "identity" is not supported`);
  });
});

describe('VILA prompts', () => {
  it('the llama_3 and vicuna_v1 templates of VILA conversation.py, each <image> followed by a newline', () => {
    expect(vilaPromptText('<image>What is it? Answer:', 'llama_3')).toBe(
      '<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nYou are a helpful language and vision assistant. You are able to understand the visual content that the user provides, and assist the user with a variety of tasks using natural language.<|eot_id|>' +
        '<|start_header_id|>user<|end_header_id|>\n\n<image>\nWhat is it? Answer:<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n',
    );
    expect(vilaPromptText('a<image>b<image>', 'vicuna_v1')).toBe(
      "A chat between a curious user and an artificial intelligence assistant. The assistant gives helpful, detailed, and polite answers to the user's questions. USER: a<image>\nb<image>\n ASSISTANT:",
    );
  });

  it('tokenizer_image_token: chunks encoded alone, later chunks lose their BOS, perImage ids per image', async () => {
    const dir = await fresh();
    const tok = await loadTokenizer(join(dir, 'llm'));
    expect(vilaTemplateFor(tok)).toBe('llama_3');
    const bos = tok.specialTokens.bos!.id;
    const text = 'What is in the image?<image>\nAnswer: a cat<image>\nred';
    const { ids, imagePositions } = vilaTokenize(tok, text, 999, 3);
    const [a, b, c] = text.split('<image>').map((s) => tok.encode(s));
    expect(a![0]).toBe(bos);
    expect(b![0]).toBe(bos);
    expect(Array.from(ids)).toEqual([...a!, 999, 999, 999, ...b!.slice(1), 999, 999, 999, ...c!.slice(1)]);
    expect(imagePositions).toEqual([[a!.length, a!.length + 1, a!.length + 2], [a!.length + b!.length + 2, a!.length + b!.length + 3, a!.length + b!.length + 4]]);
    // differs from tokenizing the whole text at once ("\n" after the image starts its own chunk)
    const raw = vilaTokenize(tok, text, 999, 1, false);
    expect(Array.from(raw.ids).filter((x) => x === bos)).toEqual([]);
  });

  it('a tokenizer without the Llama-3 header tokens gets vicuna_v1 (VILA1.5-3b)', async () => {
    const d = join(tmp, 'wordlevel');
    await writeWordLevelTokenizer(d, { specialTokens: ['<unk>', '<s>', '</s>'], words: ['USER:', 'ASSISTANT:', 'a'], unkToken: '<unk>', bosToken: '<s>', eosToken: '</s>', addBosToken: true });
    expect(vilaTemplateFor(await loadTokenizer(d))).toBe('vicuna_v1');
  });

  it('the processor (no device needed) refuses a placeholder count that differs from the images', async () => {
    const dir = await fresh();
    const ck = await openCheckpoint(dir);
    try {
      const proc = await VilaProcessor.load(dir, ck.config as VilaConfig, await loadTokenizer(ck.tokenizerDir));
      await expect(proc.prepare({ text: '<image><image>two?', images: [] })).rejects.toThrow(/the prompt has 2 '<image>' placeholder\(s\) but 0 image\(s\) were supplied/);
      const p = await proc.prepare({ text: 'no image', images: [] });
      expect(p.pixels).toBeNull();
      expect(p.imagePositions).toEqual([]);
    } finally {
      await ck.close();
    }
  });
});

it('CheckpointError is what the layout throws', async () => {
  const dir = await fresh();
  await rm(join(dir, 'llm'), { recursive: true });
  await expect(openCheckpoint(dir)).rejects.toBeInstanceOf(CheckpointError);
});
