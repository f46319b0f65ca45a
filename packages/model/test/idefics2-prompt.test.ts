import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildIdefics2Prompt, expandIdefics2Text, loadIdefics2Processor } from '../src/families/idefics2/prompt.js';
import { writeTinyIdefics2 } from '../src/families/idefics2/tiny.js';
import type { RgbImage } from '../src/image/types.js';
import { loadTokenizer } from '../src/tokenizer/tokenizer.js';
import { useTempDir } from './temp-dir.js';

let tmp = '';
useTempDir('idefics2-prompt-', (d) => (tmp = d));

const F = '<fake_token_around_image>';
const I = '<image>';

const gray = (width: number, height: number, v: number): RgbImage => ({ width, height, data: new Uint8Array(width * height * 3).fill(v), source: `gray ${width}x${height}` });

describe('expandIdefics2Text', () => {
  it('wraps image_seq_len image tokens in fake tokens', () => {
    expect(expandIdefics2Text(`${I}In this image, we see`, 2, 1)).toBe(`${F}${I}${I}${F}In this image, we see`);
  });

  it('repeats five frames with splitting and collapses the fake pairs between frames and adjacent images', () => {
    const frame = `${I}${I}${I}`;
    expect(expandIdefics2Text(`a${I}b`, 3, 5)).toBe(`a${F}${frame}${F}${frame}${F}${frame}${F}${frame}${F}${frame}${F}b`);
    expect(expandIdefics2Text(`${I}${I}`, 1, 1)).toBe(`${F}${I}${F}${I}${F}`);
    // The 8b count: 5 x 64 image tokens and 6 fake tokens per image.
    const big = expandIdefics2Text(`User:${I}What?`, 64, 5);
    expect(big.split(I).length - 1).toBe(320);
    expect(big.split(F).length - 1).toBe(6);
  });

  it('collapses like Python str.replace (left to right, non-overlapping): a fake token written by the user stays doubled once', () => {
    // Python: ('<f>' + '<f><i><f>').replace('<f><f>', '<f>') == '<f><i><f>'; three in a row become two.
    expect(expandIdefics2Text(`${F}${I}`, 1, 1)).toBe(`${F}${I}${F}`);
    expect(expandIdefics2Text(`${F}${F}${I}`, 1, 1)).toBe(`${F}${F}${I}${F}`);
  });
});

describe('Idefics2 processor on the tiny checkpoint', () => {
  it('prepares text + images: ids, image positions in order, pixels with mask (splitting)', async () => {
    const dir = join(tmp, 'split');
    const { config } = await writeTinyIdefics2(dir, { doImageSplitting: true });
    const tok = await loadTokenizer(dir);
    const proc = await loadIdefics2Processor(dir, config, tok);
    const out = await proc.prepare({ text: `User:${I}${I}What color is the car?<end_of_utterance>\nAssistant:`, images: [gray(37, 23, 10), gray(20, 50, 200)] });
    const fake = tok.requireTokenId(F);
    const img = tok.requireTokenId(I);
    expect(out.imagePositions.length).toBe(2);
    expect(out.imagePositions.map((p) => p.length)).toEqual([40, 40]);
    const all = out.imagePositions.flat();
    expect(all).toEqual([...all].sort((a, b) => a - b));
    for (const p of all) expect(out.ids[p]).toBe(img);
    expect([...out.ids].filter((id) => id === img).length).toBe(80);
    expect([...out.ids].filter((id) => id === fake).length).toBe(11); // 6 per image, the shared one between them once
    expect(out.ids[0]).toBe(tok.requireTokenId('<s>'));
    // The expanded string tokenised directly gives the same ids.
    const text = expandIdefics2Text(`User:${I}${I}What color is the car?<end_of_utterance>\nAssistant:`, 8, 5);
    expect([...out.ids]).toEqual(tok.encode(text));
    expect(out.pixels!.shape[0]).toBe(10);
    expect(out.pixels!.mask!.length).toBe(10 * out.pixels!.shape[2] * out.pixels!.shape[3]);
    expect(proc.pixelLimit).toBe(32 * 32 * 4096);
  });

  it('text only: no pixels; placeholder count must match the images', async () => {
    const dir = join(tmp, 'plain');
    const { config } = await writeTinyIdefics2(dir);
    const tok = await loadTokenizer(dir);
    const proc = await loadIdefics2Processor(dir, config, tok);
    const out = await proc.prepare({ text: 'Describe the picture.' });
    expect(out.pixels).toBeNull();
    expect(out.imagePositions).toEqual([]);
    await expect(proc.prepare({ text: `${I}${I}`, images: [gray(8, 8, 1)] })).rejects.toThrow(/2 '<image>' placeholder\(s\) but 1 image\(s\)/);
    const one = await proc.prepare({ text: `${I}x`, images: [gray(8, 8, 1)], addSpecialTokens: false });
    expect(one.ids[0]).toBe(tok.requireTokenId(F));
    expect(one.imagePositions[0]).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(one.pixels!.shape).toEqual([1, 3, 16, 16]); // 8x8 raised to shortest_edge 16
  });

  it('refuses an image_seq_len that differs from the perceiver latents, naming processor_config.json', async () => {
    const dir = join(tmp, 'seq');
    const { config } = await writeTinyIdefics2(dir);
    const tok = await loadTokenizer(dir);
    await writeFile(join(dir, 'processor_config.json'), JSON.stringify({ image_seq_len: 64 }));
    await expect(loadIdefics2Processor(dir, config, tok)).rejects.toThrow(/processor_config\.json: image_seq_len: 64 differs from config\.json perceiver_config\.resampler_n_latents 8/);
    // Absent: Idefics2Processor's default 64, also refused for an 8-latent perceiver.
    await rm(join(dir, 'processor_config.json'));
    await expect(loadIdefics2Processor(dir, config, tok)).rejects.toThrow(/image_seq_len: 64 differs/);
    await writeFile(join(dir, 'processor_config.json'), '{not json');
    await expect(loadIdefics2Processor(dir, config, tok)).rejects.toThrow(/processor_config\.json/);
    await rm(join(dir, 'preprocessor_config.json'));
    await expect(loadIdefics2Processor(dir, config, tok)).rejects.toThrow(/preprocessor_config\.json: \(file\): cannot read/);
  });

  it('fails clearly, naming tokenizer.json, when a needed token is missing or has another id', async () => {
    const dir = join(tmp, 'tok');
    const { config } = await writeTinyIdefics2(dir);
    const tjPath = join(dir, 'tokenizer.json');
    const tj = JSON.parse(await readFile(tjPath, 'utf8')) as { added_tokens: Array<{ content: string }>; model: { vocab: Record<string, number> } };
    tj.added_tokens = tj.added_tokens.filter((t) => t.content !== F);
    delete tj.model.vocab[F];
    await writeFile(tjPath, JSON.stringify(tj));
    const tok = await loadTokenizer(dir);
    expect(() => buildIdefics2Prompt(tok, config, `${I}a`, 1, 1)).toThrow(/tokenizer\.json has no token '<fake_token_around_image>'/);
    expect(() => buildIdefics2Prompt(tok, { ...config, imageTokenIndex: config.imageTokenIndex + 1 }, 'a', 0, 1)).toThrow(/tokenizer\.json gives '<image>' id \d+, but config\.json image_token_id is/);
  });
});
