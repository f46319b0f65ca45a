// LLaVA-NeXT / OneVision config.json parsing: the published configs, the class defaults transformers
// fills in, the refusals by name (a vision_feature_layer list, a strategy that leaves a crop off its
// square grid, a vision_aspect_ratio transformers cannot read, pinpoints that are no crop multiple,
// mismatched model types), the registry's choice, the two parameter namings and the expected tensors.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  FAMILIES, SafetensorsFile, familyOfConfigJson, llavaNextCanonicalName, llavaNextExpectedTensors, llavaNextLegacyName, openCheckpoint,
  parseLlavaNextConfig, pyFloorDiv, pyIntRound7, writeSafetensors, writeTinyLlavaNext, writeTinyLlavaOnevision,
} from '../src/index.js';
import { maxNumPatchesOf, pyStrip } from '../src/families/llava-next/config.js';
import { Fields } from '../src/config/fields.js';
import { MISTRAL_7B, ONEVISION_05B } from './llava-next-fixtures.js';

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'mtv-llava-next-config-'));
});
afterAll(() => rm(root, { recursive: true, force: true }));

describe('config.json', () => {
  it('llava-v1.6-mistral-7b-hf', () => {
    const c = parseLlavaNextConfig(MISTRAL_7B.config, 'c.json');
    expect(c).toMatchObject({
      family: 'llava_next', imageTokenIndex: 32000, visionFeatureLayer: -2, visionHiddenStateIndex: 23, visionFeatureSelectStrategy: 'default',
      gridSide: 24, tokensPerCrop: 576, projectorHiddenAct: 'gelu', projectorBias: true, tieWordEmbeddings: false, visionAspectRatio: null, maxNumPatches: null, videoTokenIndex: null,
    });
    expect(c.vision).toMatchObject({ modelType: 'clip_vision_model', classToken: true, numPositions: 577, imageSize: 336, patchSize: 14 });
    expect(c.text).toMatchObject({ modelType: 'mistral', vocabSize: 32064, numKvHeads: 8, slidingWindow: null });
    expect(c.imageGridPinpoints).toEqual([[336, 672], [672, 336], [672, 672], [1008, 336], [336, 1008]]);
  });

  it('llava-onevision-qwen2-0.5b-ov-hf', () => {
    const c = parseLlavaNextConfig(ONEVISION_05B.config, 'c.json');
    expect(c).toMatchObject({
      family: 'llava_onevision', imageTokenIndex: 151646, videoTokenIndex: 151647, visionFeatureLayer: -1, visionHiddenStateIndex: 26,
      visionFeatureSelectStrategy: 'full', gridSide: 27, tokensPerCrop: 729, tieWordEmbeddings: true, visionAspectRatio: 'anyres_max_9', maxNumPatches: 9,
    });
    expect(c.vision).toMatchObject({ modelType: 'siglip_vision_model', classToken: false, numPositions: 729, hiddenSize: 1152 });
    expect(c.text).toMatchObject({ modelType: 'qwen2', hiddenSize: 896, numHeads: 14, numKvHeads: 2, qkvBias: true });
    expect(c.imageGridPinpoints).toHaveLength(36);
  });

  it('the class defaults when fields are absent', () => {
    const next = parseLlavaNextConfig({ model_type: 'llava_next' });
    expect(next).toMatchObject({ imageTokenIndex: 32000, visionFeatureLayer: -2, visionFeatureSelectStrategy: 'default', tokensPerCrop: 576, defaulted: { text: true, vision: true } });
    expect(next.vision).toMatchObject({ modelType: 'clip_vision_model', hiddenSize: 1024, numLayers: 24, imageSize: 336, patchSize: 14 });
    expect(next.text.modelType).toBe('llama');
    // LlavaOnevisionConfig's default tower is SigLIP at the NeXT sizes (336 px), which its default 384-based pinpoints do not tile
    expect(() => parseLlavaNextConfig({ model_type: 'llava_onevision' })).toThrow(/image_grid_pinpoints: \[384, 384\] is not a multiple of vision_config\.image_size 336/);
    const ov = parseLlavaNextConfig({ model_type: 'llava_onevision', vision_config: { image_size: 384, patch_size: 14 } });
    expect(ov).toMatchObject({ imageTokenIndex: 151646, videoTokenIndex: 151647, visionFeatureLayer: -1, visionFeatureSelectStrategy: 'full', tokensPerCrop: 729, maxNumPatches: 9, defaulted: { text: true, vision: false } });
    expect(ov.vision.modelType).toBe('siglip_vision_model');
    expect(ov.text.modelType).toBe('qwen2');
    // a vision_config without model_type is the class's default tower type
    expect(parseLlavaNextConfig({ model_type: 'llava_onevision', vision_config: { image_size: 384, patch_size: 14 } }).vision.modelType).toBe('siglip_vision_model');
    // image_token_id is the newer alias
    expect(parseLlavaNextConfig({ model_type: 'llava_next', image_token_id: 31999 }).imageTokenIndex).toBe(31999);
    // the model type from architectures alone
    expect(parseLlavaNextConfig({ architectures: ['LlavaOnevisionForConditionalGeneration'], vision_config: { image_size: 384, patch_size: 14 } }).family).toBe('llava_onevision');
  });

  it('refuses by name what is not implemented', () => {
    const bad = (json: Record<string, unknown>, re: RegExp): void => expect(() => parseLlavaNextConfig(json, 'cfg.json')).toThrow(re);
    bad({ model_type: 'llava_next', vision_feature_layer: [-2, -5] }, /cfg\.json: vision_feature_layer: a list of layers \(\[-2,-5\]\) is not supported/);
    bad({ model_type: 'llava_next', vision_feature_select_strategy: 'full' }, /vision_feature_select_strategy: 'full' leaves 577 features per crop .* as a 24 x 24 grid .*use 'default'/);
    bad({ model_type: 'llava_onevision', vision_feature_select_strategy: 'default' }, /'default' leaves 575 features per crop .* use 'full'/);
    bad({ model_type: 'llava_onevision', vision_aspect_ratio: 'anyres' }, /vision_aspect_ratio: "anyres": transformers reads the crop budget as int\("anyres"\.strip\("anyres_max_"\)\) = int\(""\), which is not an integer/);
    bad({ model_type: 'llava_onevision', vision_aspect_ratio: 'anyres_max_0' }, /"anyres_max_0" gives a crop budget of 0; it must be a positive integer/);
    bad({ model_type: 'llava_next', image_grid_pinpoints: [[336, 500]] }, /image_grid_pinpoints: \[336, 500\] is not a multiple of vision_config\.image_size 336/);
    bad({ model_type: 'llava_next', image_grid_pinpoints: [[336]] }, /image_grid_pinpoints: expected a non-empty list of \[height, width\]/);
    bad({ model_type: 'llava_next', vision_config: { model_type: 'idefics3_vision' } }, /vision_config\.model_type: unsupported value "idefics3_vision"/);
    bad({ model_type: 'llava_next', text_config: { model_type: 'gemma' } }, /text_config\.model_type: unsupported value "gemma" \(supported: llama, mistral, qwen2\)/);
    bad({ model_type: 'llava_next', image_token_index: 40000 }, /image_token_index: 40000 is outside the language model's vocabulary/);
    bad({ model_type: 'llava_next', architectures: ['LlavaOnevisionForConditionalGeneration'] }, /architectures: unsupported architecture \["LlavaOnevisionForConditionalGeneration"\] for model_type "llava_next" \(supported: LlavaNextForConditionalGeneration\)/);
    bad({ model_type: 'llava' }, /model_type: unsupported model type "llava" \(supported: llava_next, llava_onevision\)/);
    expect(() => parseLlavaNextConfig({ model_type: 'llava_next' }, 'cfg.json', 'llava_onevision')).toThrow(/model_type: "llava_next" is not "llava_onevision"/);
  });

  it("vision_aspect_ratio is read as transformers reads it: str.strip removes characters, not a prefix", () => {
    expect(pyStrip('anyres_max_9', 'anyres_max_')).toBe('9');
    expect(pyStrip('anyres_max_12', 'anyres_max_')).toBe('12');
    expect(pyStrip('max_anyres_4ny', 'anyres_max_')).toBe('4');
    const f = new Fields('c.json', {});
    expect(maxNumPatchesOf(f, 'vision_aspect_ratio', 'anyres_max_9')).toBe(9);
    expect(maxNumPatchesOf(f, 'vision_aspect_ratio', 'max_anyres_4ny')).toBe(4);
    expect(maxNumPatchesOf(f, 'vision_aspect_ratio', 'anyres_max_9x')).toBe(9); // 'x' is one of the stripped characters
    expect(() => maxNumPatchesOf(f, 'vision_aspect_ratio', 'anyres_max_9b')).toThrow(/int\("9b"\)/);
  });

  it("Python's float floor division and int(round(x, 7))", () => {
    expect(pyFloorDiv(162, 2)).toBe(81);
    expect(pyFloorDiv(54, Math.sqrt(8748 / 6561))).toBe(46);
    expect(pyFloorDiv(1, 0.1)).toBe(9); // Python: 1 // 0.1 == 9.0, though 1 / 0.1 == 10.0
    expect(Math.floor(1 / 0.1)).toBe(10);
    expect(pyIntRound7(40.5)).toBe(40);
    expect(pyIntRound7(23.99999999)).toBe(24); // round(23.99999999, 7) = 24.0
    expect(pyIntRound7(300 * (72 / 900))).toBe(24);
  });
});

describe('registry, names and tensors', () => {
  it('picks the family by model_type, else by architectures', () => {
    expect(FAMILIES.map((f) => f.name)).toEqual(expect.arrayContaining(['llava_next', 'llava_onevision']));
    expect(familyOfConfigJson({ model_type: 'llava_next' }, 'c.json').name).toBe('llava_next');
    expect(familyOfConfigJson({ model_type: 'llava_onevision' }, 'c.json').name).toBe('llava_onevision');
    expect(familyOfConfigJson({ architectures: ['LlavaNextForConditionalGeneration'] }, 'c.json').name).toBe('llava_next');
    expect(familyOfConfigJson({ architectures: ['LlavaOnevisionForConditionalGeneration'] }, 'c.json').name).toBe('llava_onevision');
  });

  it('maps the legacy (hub) names and the new ones to the canonical names', () => {
    const pairs: [string, string][] = [
      ['language_model.model.layers.0.self_attn.o_proj.weight', 'model.language_model.layers.0.self_attn.o_proj.weight'],
      ['language_model.lm_head.weight', 'lm_head.weight'],
      ['vision_tower.vision_model.embeddings.patch_embedding.weight', 'model.vision_tower.vision_model.embeddings.patch_embedding.weight'],
      ['multi_modal_projector.linear_1.bias', 'model.multi_modal_projector.linear_1.bias'],
      ['image_newline', 'model.image_newline'],
    ];
    for (const [legacy, canonical] of pairs) {
      expect(llavaNextCanonicalName(legacy)).toBe(canonical);
      expect(llavaNextCanonicalName(canonical)).toBe(canonical);
      expect(llavaNextLegacyName(canonical)).toBe(legacy);
    }
    expect(llavaNextCanonicalName('model.vision_model.encoder.layers.0.mlp.fc1.weight')).toBeNull();
  });

  it('expected tensors: the tower (unused layers optional), projector, image_newline, decoder (lm_head optional when tied)', () => {
    const next = llavaNextExpectedTensors(parseLlavaNextConfig(MISTRAL_7B.config));
    const byName = new Map(next.map((t) => [t.name, t]));
    expect(byName.get('model.image_newline')).toEqual({ name: 'model.image_newline', shape: [4096], required: true });
    expect(byName.get('model.multi_modal_projector.linear_1.weight')!.shape).toEqual([4096, 1024]);
    expect(byName.get('model.vision_tower.vision_model.encoder.layers.22.mlp.fc1.weight')!.required).toBe(true);
    expect(byName.get('model.vision_tower.vision_model.encoder.layers.23.mlp.fc1.weight')!.required).toBe(false); // hidden_states[-2]
    expect(byName.get('lm_head.weight')).toMatchObject({ shape: [32064, 4096], required: true });
    const ov = new Map(llavaNextExpectedTensors(parseLlavaNextConfig(ONEVISION_05B.config)).map((t) => [t.name, t]));
    expect(ov.get('model.vision_tower.vision_model.embeddings.position_embedding.weight')!.shape).toEqual([729, 1152]);
    expect(ov.get('model.vision_tower.vision_model.encoder.layers.25.mlp.fc1.weight')!.required).toBe(true);
    expect(ov.get('lm_head.weight')!.required).toBe(false);
  });

  it('the tiny CLI writes both, in either naming', async () => {
    const { runTinyCli } = await import('../src/tiny/cli.js');
    const dir = join(root, 'cli');
    expect(await runTinyCli(['--out', dir, '--family', 'llava-onevision', '--naming', 'new', '--dtype', 'BF16', '--seed', '3'])).toContain('chat_template.json');
    const ck = await openCheckpoint(dir);
    expect(ck.family.name).toBe('llava_onevision');
    expect(ck.source('model.image_newline').diskName).toBe('model.image_newline');
    expect(ck.dtype('model.image_newline')).toBe('BF16');
    await ck.close();
    await expect(runTinyCli(['--out', join(root, 'cli2'), '--family', 'llava-next', '--naming', 'odd'])).rejects.toThrow(/--naming: "odd" is not one of legacy, new/);
  });

  it('tiny checkpoints open as their family with nothing unexpected; a missing image_newline is named as on disk', async () => {
    for (const [write, family] of [[writeTinyLlavaNext, 'llava_next'], [writeTinyLlavaOnevision, 'llava_onevision']] as const) {
      const dir = join(root, family);
      const { files } = await write(dir, { seed: 1 });
      expect(files).toEqual(['chat_template.json', 'config.json', 'generation_config.json', 'model.safetensors', 'preprocessor_config.json', 'processor_config.json', 'tokenizer.json', 'tokenizer_config.json']);
      const ck = await openCheckpoint(dir);
      expect(ck.family.name).toBe(family);
      expect(ck.unexpected).toEqual([]);
      expect(ck.source('model.image_newline').diskName).toBe('image_newline');
      expect(ck.source('model.language_model.norm.weight').diskName).toBe('language_model.model.norm.weight');
      await ck.close();
    }
    const dir = join(root, 'missing');
    await writeTinyLlavaOnevision(dir, { seed: 1 });
    const file = join(dir, 'model.safetensors');
    const st = await SafetensorsFile.open(file);
    const kept = new Map<string, { dtype: 'F32'; shape: number[]; data: Uint8Array }>();
    for (const n of st.names()) if (n !== 'image_newline') kept.set(n, { dtype: 'F32', shape: [...st.info(n).shape], data: new Uint8Array((await st.readF32(n)).buffer) });
    await st.close();
    await writeSafetensors(file, kept);
    await expect(openCheckpoint(dir)).rejects.toThrow(/model\.safetensors: tensor 'model\.image_newline': missing \(looked for 'model\.image_newline' and 'image_newline'; expected shape \[64\] from config\.json\)/);
  });
});
