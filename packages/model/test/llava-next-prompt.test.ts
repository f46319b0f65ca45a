// LlavaNextProcessor / LlavaOnevisionProcessor prompt expansion: the `<image>` count per image for
// the published configs (llava-v1.6-mistral-7b-hf, llava-onevision-qwen2-0.5b-ov-hf), each derived by
// hand from processing_llava_next.py / processing_llava_onevision.py (the derivations are in the
// comments), the processor's count equal to the model's feature rows (pack_image_features) over many
// sizes, and the tiny checkpoints' ids: the expanded text tokenised whole, one contiguous run per image.
import { describe, expect, it } from 'vitest';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { rng } from '@mtv/kernels';
import { MISTRAL_7B, ONEVISION_05B } from './llava-next-fixtures.js';
import {
  anyresImageTokens, anyresLayout, anyresTileCount, anyresTokenRule, expandAnyresText, loadLlavaNextProcessor, loadTokenizer,
  parseAnyresImageProcessorConfig, parseLlavaNextConfig, writeTinyLlavaNext, writeTinyLlavaOnevision,
  type LlavaNextConfig, type RgbImage,
} from '../src/index.js';

function ruleOf(m: typeof MISTRAL_7B | typeof ONEVISION_05B): { config: LlavaNextConfig; rule: ReturnType<typeof anyresTokenRule> } {
  const config = parseLlavaNextConfig(m.config);
  const ip = parseAnyresImageProcessorConfig(m.preprocessor, config.family, 'preprocessor_config.json');
  return { config, rule: anyresTokenRule(config, ip, m.processor, 'processor_config.json') };
}

describe('image-token counts, derived by hand from the processors', () => {
  const next = ruleOf(MISTRAL_7B);
  const ov = ruleOf(ONEVISION_05B);
  const tokens = (r: typeof next, w: number, h: number, multi = false): number => anyresImageTokens(h, w, r.rule, multi);

  it('llava-v1.6-mistral-7b (336 px crops, 24 x 24 features + CLS, strategy default)', () => {
    // 640x480: (672, 672) keeps 672 * 504 -> all 307200 px (the others at most 150528): 2 x 2 crops, grid 48 x 48;
    // 640/480 > 1: newH = int(round(480 * 48/640, 7)) = 36, padding 6 -> 36 x 48 = 1728, + 36 newlines, + 576 + 1 base, - 1 = 2340
    expect(tokens(next, 640, 480)).toBe(2340);
    // 336x336: (336, 672) and (672, 336) both keep it whole with the same waste: the first, (336, 672) -> 1 x 2, grid 24 x 48;
    // 1 < 2: newW = int(round(336 * 24/336, 7)) = 24, padding 12 -> 24 x 24 = 576, + 24, + 577, - 1 = 1176
    expect(tokens(next, 336, 336)).toBe(1176);
    // 1000x200: (336, 1008) scale 1.008 keeps 1008 x 201 -> capped at 200000: 1 x 3, grid 24 x 72;
    // 5 > 3: newH = int(round(200 * 72/1000, 7)) = int(14.4) = 14, padding 5 -> 14 x 72 = 1008, + 14, + 577, - 1 = 1598
    expect(tokens(next, 1000, 200)).toBe(1598);
    // 300x900: (1008, 336) scale 1.12 keeps it whole: 3 x 1, grid 72 x 24; 1/3 is not > 24/72 (equal):
    // newW = int(round(300 * 72/900, 7)) = 24, padding 0 -> 72 x 24 = 1728, + 72, + 577, - 1 = 2376
    expect(tokens(next, 300, 900)).toBe(2376);
  });

  it('llava-onevision-qwen2-0.5b (384 px crops, 27 x 27 features, anyres_max_9, strategy full)', () => {
    // 640x480: (768, 768) first keeps all 307200 px: 2 x 2, grid 54 x 54; newH = int(round(480 * 54/640, 7)) = int(40.5) = 40,
    // padding 7 -> 40 x 54 = 2160, ratio sqrt(2160 / (9 * 729)) = 0.57: no pooling; + 40 newlines + 729 base = 2929
    expect(tokens(ov, 640, 480)).toBe(2929);
    // 2304x2304: (2304, 2304): 6 x 6, grid 162 x 162 kept whole; ratio sqrt(26244 / 6561) = 2 -> 81 x 81 = 6561, + 81, + 729 = 7371
    expect(tokens(ov, 2304, 2304)).toBe(7371);
    // 1000x300: (384, 1152) scale 1.152 keeps it whole: 1 x 3, grid 27 x 81; newH = int(round(300 * 81/1000, 7)) = int(24.3) = 24,
    // padding 1 -> 25 x 81 = 2025 (the kept size is cur - 2 * padding, one more than newH); ratio 0.56; + 25 + 729 = 2779
    expect(tokens(ov, 1000, 300)).toBe(2779);
    // 3000x1000: (768, 2304) scale 0.768 keeps 2304 x 768: 2 x 6, grid 54 x 162; 3 is not > 3: newW = 162, padding 0;
    // ratio sqrt(8748 / 6561) = 1.1547 > 1.1 -> int(54 // 1.1547) = 46 x int(162 // 1.1547) = 140 = 6440, + 46, + 729 = 7215
    expect(tokens(ov, 3000, 1000)).toBe(7215);
    // 2000x1500: (1536, 2304) scale 1.024 keeps it whole: 4 x 6, grid 108 x 162; 1.33 < 1.5: newW = int(round(2000 * 108/1500, 7)) = 144,
    // padding 9 -> 108 x 144 = 15552; ratio sqrt(15552 / 6561) = 1.5396 -> 70 x 93 = 6510, + 70, + 729 = 7309
    expect(tokens(ov, 2000, 1500)).toBe(7309);
    // several images in one sample (batch_num_images > 1): 729 + 1 newline each, whatever the size
    expect(tokens(ov, 640, 480, true)).toBe(730);
    expect(tokens(ov, 17, 3000, true)).toBe(730);
  });

  it('the processor count equals the model\'s feature rows (pack_image_features) for any size', () => {
    const r = rng(5);
    for (const m of [next, ov]) {
      const c = m.config;
      const g = { pinpoints: c.imageGridPinpoints, imageSize: c.vision.imageSize, gridSide: c.gridSide, maxNumPatches: c.maxNumPatches };
      for (let i = 0; i < 3000; i++) {
        const w = 1 + Math.floor(r() ** 2 * 4000);
        const h = 1 + Math.floor(r() ** 2 * 4000);
        const layout = anyresLayout({ width: w, height: h, tiles: anyresTileCount(h, w, g) }, g);
        expect(anyresImageTokens(h, w, m.rule), `${w}x${h}`).toBe(layout.count);
      }
      if (c.family === 'llava_onevision') expect(anyresImageTokens(100, 200, m.rule, true)).toBe(anyresLayout({ width: 200, height: 100, tiles: 1 }, g).count);
    }
  });

  it('expands each placeholder in order and refuses a count mismatch', () => {
    expect(expandAnyresText('a<image>b<image>c', [2, 1])).toBe('a<image><image>b<image>c');
    expect(() => expandAnyresText('a<image>b', [1, 2])).toThrow(/1 '<image>' placeholder\(s\) but 2 image\(s\)/);
  });
});

function randomImage(seed: number, width: number, height: number): RgbImage {
  const r = rng(seed);
  return { width, height, data: Uint8Array.from({ length: width * height * 3 }, () => Math.floor(256 * r())), source: `random ${seed}` };
}

describe('tiny checkpoints: input_ids as the processor makes them', () => {
  it.each([
    ['llava_next', writeTinyLlavaNext, '[INST] <image>\nWhat is shown in this image? [/INST]'],
    ['llava_onevision', writeTinyLlavaOnevision, '<|im_start|>user <image>\nWhat is shown in this image?<|im_end|>\n<|im_start|>assistant\n'],
  ] as const)('%s: the expanded text tokenised whole, one run of image ids per image', async (_name, write, text) => {
    const dir = await mkdtemp(join(tmpdir(), 'mtv-llava-next-prompt-'));
    try {
      const { config } = await write(dir, { seed: 1 });
      const tok = await loadTokenizer(dir);
      const proc = await loadLlavaNextProcessor(dir, config, tok);
      const img = randomImage(1, 40, 23);
      const p = await proc.prepare({ text, images: [img] });
      const n = anyresImageTokens(23, 40, proc.rule);
      expect(p.ids).toEqual(Int32Array.from(tok.encode(text.replace('<image>', '<image>'.repeat(n)))));
      const pos = p.imagePositions[0]!;
      expect(pos.length).toBe(n);
      expect(pos[pos.length - 1]! - pos[0]!).toBe(n - 1);
      expect(Array.from(p.ids).filter((id) => id === config.imageTokenIndex).length).toBe(n);
      // the chat template puts the placeholder where the processor expects it
      const chat = tok.applyChatTemplate([{ role: 'user', content: [{ type: 'image' }, { type: 'text', text: 'What is this?' }] }], { addGenerationPrompt: true });
      expect(chat).toContain('<image>');
      await expect(proc.prepare({ text: chat, images: [img] })).resolves.toBeTruthy();
      await expect(proc.prepare({ text, images: [img, img] })).rejects.toThrow(/1 '<image>' placeholder\(s\) but 2 image\(s\)/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('refuses a processor_config.json whose count disagrees with config.json, naming the file and both numbers', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'mtv-llava-next-prompt-'));
    try {
      const { config } = await writeTinyLlavaOnevision(dir, { seed: 1 });
      const tok = await loadTokenizer(dir);
      const file = join(dir, 'processor_config.json');
      const pc = JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>;
      await writeFile(file, JSON.stringify({ ...pc, num_image_tokens: 25 }));
      await expect(loadLlavaNextProcessor(dir, config, tok)).rejects.toThrow(/processor_config\.json: num_image_tokens: 25 \(a 5 x 5 grid, 25 base tokens\) disagrees with the tower's 4 x 4 grid of 16/);
      const { vision_aspect_ratio: _drop, ...noAspect } = pc;
      await writeFile(file, JSON.stringify(noAspect));
      await expect(loadLlavaNextProcessor(dir, config, tok)).rejects.toThrow(/vision_aspect_ratio: "anyres_max_9" \(LlavaOnevisionProcessor's default: the field is absent\) budgets 9 crops, but config\.json's vision_aspect_ratio "anyres_max_2" budgets 2/);
      await writeFile(file, JSON.stringify({ ...pc, vision_feature_select_strategy: 'default' }));
      await expect(loadLlavaNextProcessor(dir, config, tok)).rejects.toThrow(/vision_feature_select_strategy: 'default' differs from config\.json's 'full'/);
      await rm(file);
      await expect(loadLlavaNextProcessor(dir, config, tok)).rejects.toThrow(/vision_aspect_ratio/); // absent: the processor's defaults (anyres_max_9)
      await writeFile(file, JSON.stringify(pc));
      const pp = join(dir, 'preprocessor_config.json');
      const ppJson = JSON.parse(await readFile(pp, 'utf8')) as Record<string, unknown>;
      await writeFile(pp, JSON.stringify({ ...ppJson, image_grid_pinpoints: [[16, 32]] }));
      await expect(loadLlavaNextProcessor(dir, config, tok)).rejects.toThrow(/preprocessor_config\.json: image_grid_pinpoints: \[\[16,32\]\] differ from config\.json's/);
      await writeFile(pp, JSON.stringify({ ...ppJson, size: { height: 32, width: 32 }, image_grid_pinpoints: [[32, 64]] }));
      await expect(loadLlavaNextProcessor(dir, config, tok)).rejects.toThrow(/crops preprocess to 32x32 pixels, but config\.json's vision tower takes 16x16/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('LLaVA-NeXT: a patch_size or num_additional_image_tokens that disagrees with the tower is refused; without them the model\'s own numbers', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'mtv-llava-next-prompt-'));
    try {
      const { config } = await writeTinyLlavaNext(dir, { seed: 1 });
      const tok = await loadTokenizer(dir);
      const file = join(dir, 'processor_config.json');
      const pc = JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>;
      await writeFile(file, JSON.stringify({ ...pc, patch_size: 8 }));
      await expect(loadLlavaNextProcessor(dir, config, tok)).rejects.toThrow(/patch_size: 8 gives 2 x 2 features per crop \(16 \/\/ 8\), but the tower gives 4 x 4/);
      await writeFile(file, JSON.stringify({ ...pc, num_additional_image_tokens: 0 }));
      await expect(loadLlavaNextProcessor(dir, config, tok)).rejects.toThrow(/num_additional_image_tokens: 0 makes the base crop 15 tokens \(4\^2 \+ 0 - 1\), but the tower gives 16/);
      await writeFile(file, JSON.stringify({ processor_class: 'LlavaNextProcessor' }));
      const proc = await loadLlavaNextProcessor(dir, config, tok);
      expect(proc.rule).toMatchObject({ patchSize: 4, numAdditionalImageTokens: 1, strategy: 'default' });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
