// The family registry and its refusals: config.json picks the family by model_type (else by
// architectures); an unknown one is refused with the supported list; Mistral's sliding window is
// kept and a longer sequence refused by name; a checkpoint of one family does not load as another.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Gpu } from '@mtv/kernels';
import { FAMILIES, familyOfConfigJson, loadModel, openCheckpoint, supportedFamilies, writeTinyIdefics2, writeTinyIdefics3 } from '../src/index.js';

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'mtv-families-'));
});
afterAll(() => rm(root, { recursive: true, force: true }));

describe('family registry', () => {
  it('lists every family with its model_type and architecture', () => {
    // the registered families in registry order; each family's commit adds its own entry
    expect(FAMILIES.map((f) => f.name).slice(0, 7)).toEqual(['llava', 'idefics3', 'idefics2', 'vila', 'qwen2_vl', 'llava_next', 'llava_onevision']);
    expect(supportedFamilies()).toMatch(/^llava \(LlavaForConditionalGeneration\), idefics3 \(Idefics3ForConditionalGeneration\), idefics2 \(Idefics2ForConditionalGeneration\), llava_llama \(LlavaLlamaModel\), qwen2_vl\/qwen2_5_vl \(Qwen2VLForConditionalGeneration, Qwen2_5_VLForConditionalGeneration\), llava_next \(LlavaNextForConditionalGeneration\), llava_onevision \(LlavaOnevisionForConditionalGeneration\)/);
  });

  it('picks by model_type, else by architectures; refuses an unknown one with the list', () => {
    expect(familyOfConfigJson({ model_type: 'idefics3' }, 'c.json').name).toBe('idefics3');
    expect(familyOfConfigJson({ architectures: ['Idefics2ForConditionalGeneration'] }, 'c.json').name).toBe('idefics2');
    expect(familyOfConfigJson({}, 'c.json').name).toBe('llava');
    expect(familyOfConfigJson({ model_type: 'qwen2_5_vl' }, 'c.json').name).toBe('qwen2_vl');
    expect(() => familyOfConfigJson({ model_type: 'paligemma' }, '/m/config.json')).toThrow(
      /\/m\/config\.json: model_type: unsupported model type "paligemma" \(supported: llava \(LlavaForConditionalGeneration\), idefics3 \(Idefics3ForConditionalGeneration\), idefics2 \(Idefics2ForConditionalGeneration\), /,
    );
    expect(() => familyOfConfigJson({ architectures: ['MllamaForConditionalGeneration'] }, 'c.json')).toThrow(/architectures: unsupported architecture \["MllamaForConditionalGeneration"\] \(supported: llava/);
  });

  it('opens each tiny checkpoint as its own family, with the text weights under the canonical names', async () => {
    const a = join(root, 'smol');
    const b = join(root, 'idefics2');
    await writeTinyIdefics3(a, { seed: 1 });
    await writeTinyIdefics2(b, { seed: 1 });
    for (const [dir, family, disk] of [[a, 'idefics3', 'model.text_model.norm.weight'], [b, 'idefics2', 'model.text_model.norm.weight']] as const) {
      const ck = await openCheckpoint(dir);
      expect(ck.family.name).toBe(family);
      expect(ck.has('model.language_model.norm.weight')).toBe(true);
      expect(ck.source('model.language_model.norm.weight').diskName).toBe(disk);
      expect(ck.unexpected).toEqual([]);
      await ck.close();
    }
  });

  it('a missing Idefics tensor is named with its on-disk name', async () => {
    const dir = join(root, 'smol-missing');
    await writeTinyIdefics3(dir, { seed: 1 });
    const { SafetensorsFile, writeSafetensors } = await import('../src/index.js');
    const file = join(dir, 'model.safetensors');
    const st = await SafetensorsFile.open(file);
    const kept = new Map<string, { dtype: 'F32'; shape: number[]; data: Uint8Array }>();
    for (const n of st.names()) if (n !== 'model.connector.modality_projection.proj.weight') kept.set(n, { dtype: 'F32', shape: [...st.info(n).shape], data: new Uint8Array((await st.readF32(n)).buffer) });
    await st.close();
    await writeSafetensors(file, kept);
    await expect(openCheckpoint(dir)).rejects.toThrow(/model\.safetensors: tensor 'model\.connector\.modality_projection\.proj\.weight': missing .*expected shape \[\d+, \d+\] from config\.json/);
  });
});

describe('chat template', () => {
  it('falls back to processor_config.json (where idefics2-8b ships it)', async () => {
    const dir = join(root, 'template');
    await writeTinyIdefics2(dir, { seed: 1 });
    const tc = JSON.parse(await readFile(join(dir, 'tokenizer_config.json'), 'utf8')) as Record<string, unknown>;
    delete tc['chat_template'];
    await writeFile(join(dir, 'tokenizer_config.json'), JSON.stringify(tc));
    const pc = JSON.parse(await readFile(join(dir, 'processor_config.json'), 'utf8')) as Record<string, unknown>;
    expect(typeof pc['chat_template']).toBe('string');
    const { loadTokenizer } = await import('../src/index.js');
    const tok = await loadTokenizer(dir);
    expect(tok.chatTemplate).not.toBeNull();
    expect(tok.chatTemplate!.source.origin).toBe(`processor_config.json in ${dir}`);
    delete pc['chat_template'];
    await writeFile(join(dir, 'processor_config.json'), JSON.stringify(pc));
    expect((await loadTokenizer(dir)).chatTemplate).toBeNull();
  });
});

describe('Mistral sliding window', () => {
  it('is read from text_config and a longer sequence is refused by name', async () => {
    const dir = join(root, 'window');
    await writeTinyIdefics2(dir, { seed: 1, configOverrides: { text: { sliding_window: 40 } } });
    const cfg = JSON.parse(await readFile(join(dir, 'config.json'), 'utf8')) as { text_config: { sliding_window: number } };
    expect(cfg.text_config.sliding_window).toBe(40);
    const gpu = await Gpu.create();
    const m = await loadModel(dir, { gpu, weightDtype: 'f32' });
    try {
      expect(m.config.text.slidingWindow).toBe(40);
      const p = await m.prepare({ text: 'User: ' + 'what is this picture? '.repeat(20) + '<end_of_utterance>\nAssistant:' });
      expect(p.ids.length).toBeGreaterThan(40);
      await expect(m.forward(p)).rejects.toThrow(new RegExp(`${p.ids.length} tokens exceed the sliding window of 40 \\(text_config\\.sliding_window\\); sliding-window attention is not implemented`));
    } finally {
      await m.close();
      gpu.destroy();
    }
  });

  it('a config with an unknown rope type is refused by field', async () => {
    const dir = join(root, 'rope');
    await writeTinyIdefics3(dir, { seed: 1 });
    const cfg = JSON.parse(await readFile(join(dir, 'config.json'), 'utf8')) as { text_config: Record<string, unknown> };
    cfg.text_config['rope_scaling'] = { rope_type: 'yarn', factor: 4 };
    await writeFile(join(dir, 'config.json'), JSON.stringify(cfg));
    await expect(openCheckpoint(dir)).rejects.toThrow(/config\.json: text_config\.rope_scaling\.rope_type: rope type "yarn" is not supported \(supported: default, linear\)/);
    await writeFile(join(dir, 'config.json'), '{"model_type": "idefics3", "vision_config": [1]}');
    await expect(openCheckpoint(dir)).rejects.toThrow(/config\.json/);
  });
});
