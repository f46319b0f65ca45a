import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseIdefics2Config } from '../src/families/idefics2/config.js';
import { writeTinyIdefics2 } from '../src/families/idefics2/tiny.js';
import { idefics2CanonicalName, idefics2ExpectedTensors } from '../src/families/idefics2/weights.js';
import { SafetensorsFile } from '../src/safetensors/reader.js';
import { loadTokenizer } from '../src/tokenizer/tokenizer.js';
import { useTempDir } from './temp-dir.js';

let tmp = '';
useTempDir('idefics2-tiny-', (d) => (tmp = d));

describe('writeTinyIdefics2', () => {
  it('writes the Hugging Face layout with on-disk names matching the expected tensors', async () => {
    const dir = join(tmp, 'a');
    const { config, files } = await writeTinyIdefics2(dir, { seed: 3 });
    expect(files).toEqual(['config.json', 'generation_config.json', 'model.safetensors', 'preprocessor_config.json', 'processor_config.json', 'tokenizer.json', 'tokenizer_config.json']);
    const json = JSON.parse(await readFile(join(dir, 'config.json'), 'utf8')) as Record<string, Record<string, unknown>>;
    expect(parseIdefics2Config(json)).toEqual(config);
    expect(json['text_config']).toMatchObject({ model_type: 'mistral', num_key_value_heads: 2, sliding_window: 4096 });
    expect(config.perceiver).toMatchObject({ nLatents: 8, depth: 2, numHeads: 4, headDim: 8, numKvHeads: 2, hiddenSize: 64, rmsNormEps: 1e-6, fromText: false });
    expect(config.text.rmsNormEps).toBe(1e-5);

    const st = await SafetensorsFile.open(join(dir, 'model.safetensors'));
    const names = st.names();
    expect(names.some((n) => n.startsWith('model.text_model.layers.0.'))).toBe(true);
    expect(names.some((n) => n.startsWith('model.language_model.'))).toBe(false);
    const onDisk = new Map(names.map((n) => [idefics2CanonicalName(n), st.info(n).shape]));
    const expected = idefics2ExpectedTensors(config);
    expect(onDisk.size).toBe(expected.length);
    for (const t of expected) expect([t.name, onDisk.get(t.name)]).toEqual([t.name, t.shape]);
    expect(onDisk.has(null)).toBe(false);
    await st.close();
  });

  it('is seeded: same seed same bytes, other seed other weights', async () => {
    await writeTinyIdefics2(join(tmp, 's1'), { seed: 7 });
    await writeTinyIdefics2(join(tmp, 's2'), { seed: 7 });
    await writeTinyIdefics2(join(tmp, 's3'), { seed: 8 });
    const bytes = (d: string): Promise<Buffer> => readFile(join(tmp, d, 'model.safetensors'));
    expect((await bytes('s1')).equals(await bytes('s2'))).toBe(true);
    expect((await bytes('s1')).equals(await bytes('s3'))).toBe(false);
  });

  it('has a tokenizer with the Idefics2 special tokens, chat template and end-of-turn ids', async () => {
    const dir = join(tmp, 'tok');
    const { config } = await writeTinyIdefics2(dir, { doImageSplitting: true });
    const tok = await loadTokenizer(dir);
    expect(tok.vocabSize).toBe(config.text.vocabSize);
    for (const t of ['<unk>', '<s>', '</s>', '<fake_token_around_image>', '<image>', '<end_of_utterance>']) {
      expect(tok.encode(t, { addSpecialTokens: false })).toEqual([tok.requireTokenId(t)]);
    }
    expect(tok.requireTokenId('<image>')).toBe(config.imageTokenIndex);
    expect(tok.specialTokens.bos?.token).toBe('<s>');
    expect([...tok.eosTokenIds].sort()).toEqual([tok.requireTokenId('</s>'), tok.requireTokenId('<end_of_utterance>')].sort());
    const text = tok.applyChatTemplate([{ role: 'user', content: [{ type: 'image' }, { type: 'text', text: 'What is in the image?' }] }], { addGenerationPrompt: true });
    expect(text).toBe('User:<image>What is in the image?<end_of_utterance>\nAssistant:');
    const textOnly = tok.applyChatTemplate([{ role: 'user', content: [{ type: 'text', text: 'Hi' }] }, { role: 'assistant', content: [{ type: 'text', text: 'Yo' }] }]);
    expect(textOnly).toBe('User: Hi<end_of_utterance>\nAssistant: Yo<end_of_utterance>\n');
    // Metaspace BPE with <s> prepended, round trip of ordinary text.
    const ids = tok.encode('What color is the car?');
    expect(ids[0]).toBe(tok.requireTokenId('<s>'));
    expect(tok.decode(ids, { skipSpecialTokens: true })).toBe('What color is the car?');
    const pp = JSON.parse(await readFile(join(dir, 'preprocessor_config.json'), 'utf8')) as Record<string, unknown>;
    expect(pp).toMatchObject({ image_processor_type: 'Idefics2ImageProcessor', do_image_splitting: true, resample: 2 });
    const proc = JSON.parse(await readFile(join(dir, 'processor_config.json'), 'utf8')) as Record<string, unknown>;
    expect(proc['image_seq_len']).toBe(8);
  });

  it('applies config overrides', async () => {
    const { config } = await writeTinyIdefics2(join(tmp, 'o'), { configOverrides: { perceiver: { resampler_depth: 1 }, text: { num_hidden_layers: 1 }, top: { tie_word_embeddings: true } } });
    expect(config.perceiver.depth).toBe(1);
    expect(config.text.numLayers).toBe(1);
    expect(config.tieWordEmbeddings).toBe(true);
    const st = await SafetensorsFile.open(join(tmp, 'o', 'model.safetensors'));
    expect(st.names()).not.toContain('lm_head.weight');
    await st.close();
  });
});
