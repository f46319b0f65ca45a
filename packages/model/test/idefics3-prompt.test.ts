// Idefics3Processor's prompt expansion against strings written out by hand from the processor rules,
// and the processor on the tiny SmolVLM checkpoint: token ids, image positions, pixels, the chat
// template, image_seq_len checks and the special tokens it needs.
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../src/config/fields.js';
import { idefics3Grid } from '../src/families/idefics3/image-processor.js';
import { expandIdefics3Text, idefics3ImagePromptString, loadIdefics3Processor } from '../src/families/idefics3/prompt.js';
import { writeTinyIdefics3, type Idefics3TinyCheckpoint } from '../src/families/idefics3/tiny.js';
import type { RgbImage } from '../src/image/types.js';
import { TokenizerError } from '../src/tokenizer/errors.js';
import { loadTokenizer } from '../src/tokenizer/tokenizer.js';
import { useTempDir } from './temp-dir.js';

let tmp = '';
useTempDir('idefics3-prompt-', (d) => (tmp = d));

const F = '<fake_token_around_image>';
const I = '<image>';
const G = '<global-img>';

const gray = (width: number, height: number, v: number): RgbImage => ({ width, height, data: new Uint8Array(width * height * 3).fill(v), source: `gray ${width}x${height}` });

describe('Idefics3 prompt strings', () => {
  it('an unsplit image: fake, global tag, S image tokens, fake', () => {
    expect(idefics3ImagePromptString(0, 0, 3)).toBe(`${F}${G}${I}${I}${I}${F}`);
  });

  it('a 2 x 3 split: row-major tiles, a newline after each row, then a newline and the global image', () => {
    const t = `${I}${I}`;
    expect(idefics3ImagePromptString(2, 3, 2)).toBe(
      `${F}<row_1_col_1>${t}${F}<row_1_col_2>${t}${F}<row_1_col_3>${t}\n` +
        `${F}<row_2_col_1>${t}${F}<row_2_col_2>${t}${F}<row_2_col_3>${t}\n` +
        `\n${F}${G}${t}${F}`,
    );
    expect(idefics3ImagePromptString(1, 1, 1)).toBe(`${F}<row_1_col_1>${I}\n\n${F}${G}${I}${F}`);
  });

  it('each placeholder is replaced by its own image; the count must match', () => {
    expect(expandIdefics3Text(`User:${I}What? ${I}!`, [{ rows: 0, cols: 0 }, { rows: 1, cols: 2 }], 1)).toBe(
      `User:${F}${G}${I}${F}What? ${F}<row_1_col_1>${I}${F}<row_1_col_2>${I}\n\n${F}${G}${I}${F}!`,
    );
    expect(() => expandIdefics3Text(`${I}${I}`, [{ rows: 0, cols: 0 }], 1)).toThrow(/2 '<image>' placeholder\(s\) but 1 image/);
  });

  it("the processor's own length formula holds for a 3 x 4 SmolVLM-256M grid (862 tokens with '\\n\\n' as one)", () => {
    // (S + 3) + ((S + 2) * cols + 1) * rows, S = 64: the 640 x 480 worked example.
    const s = idefics3ImagePromptString(3, 4, 64);
    const count = (x: string): number => s.split(x).length - 1;
    expect(count(I)).toBe(13 * 64);
    expect(count(F)).toBe(12 + 2);
    expect(count('\n')).toBe(4);
    expect(64 + 3 + (66 * 4 + 1) * 3).toBe(862);
  });
});

describe('Idefics3 processor on the tiny checkpoint', () => {
  let ck: Idefics3TinyCheckpoint;
  let dir = '';
  beforeAll(async () => {
    dir = join(tmp, 'tiny');
    ck = await writeTinyIdefics3(dir, { seed: 3 });
  });

  it('expands, tokenises the whole string and finds every image token, image by image', async () => {
    const tok = await loadTokenizer(dir);
    const proc = await loadIdefics3Processor(dir, ck.config, tok);
    const S = ck.config.imageSeqLen;
    expect(S).toBe(4);
    const imgs = [gray(40, 30, 10), gray(20, 20, 200), gray(30, 90, 99)];
    const text = `User:${I}and${I}then ${I}What is in this image?<end_of_utterance>\nAssistant:`;
    const out = await proc.prepare({ text, images: imgs });
    const grids = imgs.map((g) => idefics3Grid(g.width, g.height, proc.imageProcessor));
    expect(grids).toEqual([{ rows: 3, cols: 3 }, { rows: 3, cols: 3 }, { rows: 3, cols: 1 }]);
    const expected = tok.encode(expandIdefics3Text(text, grids, S));
    expect(Array.from(out.ids)).toEqual(expected);
    expect(out.imagePositions.map((p) => p.length)).toEqual([10 * S, 10 * S, 4 * S]);
    const imageId = ck.config.imageTokenIndex;
    const flat = out.imagePositions.flat();
    expect(flat).toEqual(Array.from(out.ids.keys()).filter((i) => out.ids[i] === imageId));
    expect(out.pixels!.shape).toEqual([24, 3, 32, 32]);
    expect(out.pixels!.mask!.length).toBe(24 * 32 * 32);
    // Every row/col tag and the global tag is one added token.
    for (const t of ['<row_1_col_1>', '<row_3_col_3>', G, F]) expect(tok.encode(t, { addSpecialTokens: false })).toEqual([tok.tokenToId(t)]);
  });

  it('renders SmolVLM chat prompts and prepares them; text-only prompts have no pixels', async () => {
    const tok = await loadTokenizer(dir);
    const proc = await loadIdefics3Processor(dir, ck.config, tok);
    const chat = tok.applyChatTemplate([{ role: 'user', content: [{ type: 'image' }, { type: 'text', text: 'What is in this image?' }] }], { addGenerationPrompt: true });
    expect(chat).toBe('<|im_start|>User:<image>What is in this image?<end_of_utterance>\nAssistant:');
    const out = await proc.prepare({ text: chat, images: [gray(32, 32, 7)] });
    expect(out.pixels!.shape[0]).toBe(10); // 32 x 32 -> 96 x 96: 3 x 3 tiles + global
    const text = await proc.prepare({ text: 'User: hello<end_of_utterance>\nAssistant:' });
    expect(text.pixels).toBeNull();
    expect(text.imagePositions).toEqual([]);
    await expect(proc.prepare({ text: `${I}`, images: [] })).rejects.toThrow(/1 '<image>' placeholder\(s\) but 0 image/);
  });

  it('without splitting every image is one global frame', async () => {
    const d = join(tmp, 'nosplit');
    const c = await writeTinyIdefics3(d, { seed: 3, doImageSplitting: false });
    const tok = await loadTokenizer(d);
    const proc = await loadIdefics3Processor(d, c.config, tok);
    const out = await proc.prepare({ text: `a${I}b${I}`, images: [gray(40, 30, 1), gray(7, 70, 2)] });
    expect(out.pixels!.shape).toEqual([2, 3, 32, 32]);
    expect(Array.from(out.ids)).toEqual(tok.encode(`a${F}${G}${I.repeat(4)}${F}b${F}${G}${I.repeat(4)}${F}`));
    expect(out.imagePositions.map((p) => p.length)).toEqual([4, 4]);
  });

  it('image_seq_len must agree with the config; a missing processor_config.json is the default 169', async () => {
    const d = join(tmp, 'seq');
    const c = await writeTinyIdefics3(d, { seed: 1 });
    const tok = await loadTokenizer(d);
    await writeFile(join(d, 'processor_config.json'), JSON.stringify({ image_seq_len: 9, processor_class: 'Idefics3Processor' }));
    await expect(loadIdefics3Processor(d, c.config, tok)).rejects.toThrow(ConfigError);
    await expect(loadIdefics3Processor(d, c.config, tok)).rejects.toThrow(/processor_config\.json: image_seq_len: 9 disagrees with config\.json, whose tiles give \(image_size 32 \/\/ patch_size 8\)\^2 \/ scale_factor 2\^2 = 4/);
    await rm(join(d, 'processor_config.json'));
    await expect(loadIdefics3Processor(d, c.config, tok)).rejects.toThrow(/image_seq_len: 169 \(Idefics3Processor's default/);
    await writeFile(join(d, 'processor_config.json'), JSON.stringify({ image_seq_len: 4 }));
    const pp = JSON.parse(await readFile(join(d, 'preprocessor_config.json'), 'utf8')) as Record<string, unknown>;
    await writeFile(join(d, 'preprocessor_config.json'), JSON.stringify({ ...pp, max_image_size: { longest_edge: 48 } }));
    await expect(loadIdefics3Processor(d, c.config, tok)).rejects.toThrow(/max_image_size\.longest_edge: 48 makes tiles of 6\^2 patches, but config\.json's tower has 4\^2/);
  });

  it('a tokenizer without <fake_token_around_image> or <image> is refused, naming tokenizer.json', async () => {
    for (const missing of [F, I]) {
      const d = join(tmp, `missing-${missing.length}`);
      const c = await writeTinyIdefics3(d, { seed: 1 });
      const tj = JSON.parse(await readFile(join(d, 'tokenizer.json'), 'utf8')) as { added_tokens: { content: string }[]; model: { vocab: Record<string, number> } };
      tj.added_tokens = tj.added_tokens.filter((t) => t.content !== missing);
      delete tj.model.vocab[missing];
      await writeFile(join(d, 'tokenizer.json'), JSON.stringify(tj));
      const tok = await loadTokenizer(d);
      await expect(loadIdefics3Processor(d, c.config, tok)).rejects.toThrow(TokenizerError);
      await expect(loadIdefics3Processor(d, c.config, tok)).rejects.toThrow(new RegExp(`tokenizer\\.json has no token '${missing}'`));
    }
  });

  it('the image token must be config.json image_token_id', async () => {
    const tok = await loadTokenizer(dir);
    await expect(loadIdefics3Processor(dir, { ...ck.config, imageTokenIndex: ck.config.imageTokenIndex + 1 }, tok)).rejects.toThrow(/'<image>' as id \d+, but config\.json image_token_id is/);
  });

  it('pixelLimit: 4096 times the longest-edge square, or $MTV_MAX_IMAGE_PIXELS', async () => {
    const tok = await loadTokenizer(dir);
    const proc = await loadIdefics3Processor(dir, ck.config, tok);
    const saved = process.env['MTV_MAX_IMAGE_PIXELS'];
    try {
      delete process.env['MTV_MAX_IMAGE_PIXELS'];
      expect(proc.pixelLimit).toBe(96 * 96 * 4096);
      process.env['MTV_MAX_IMAGE_PIXELS'] = '1000';
      expect(proc.pixelLimit).toBe(1000);
    } finally {
      if (saved === undefined) delete process.env['MTV_MAX_IMAGE_PIXELS'];
      else process.env['MTV_MAX_IMAGE_PIXELS'] = saved;
    }
  });
});
