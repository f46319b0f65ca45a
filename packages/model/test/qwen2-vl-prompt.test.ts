// The Qwen2-VL processor's prompt side: the published chat template renders the default system
// prompt and one <|vision_start|><|image_pad|><|vision_end|> per image; each marker (the template's
// <|image_pad|> or our <image>) expands to grid_t * grid_h * grid_w / merge^2 pads; mixed markers,
// videos and count mismatches are refused.
import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { expandQwen2VLText, loadModelConfig, loadQwen2VLProcessor, loadTokenizer, writeTinyQwen2VL, type Qwen2VLConfig, type RgbImage } from '../src/index.js';
import { PromptError } from '../src/prompt/errors.js';
import { useTempDir } from './temp-dir.js';

let tmp = '';
useTempDir('qwen2vl-prompt-', (d) => (tmp = d));

const image = (width: number, height: number): RgbImage => ({ width, height, data: new Uint8Array(width * height * 3).fill(128), source: `${width}x${height}` });

describe('Qwen2-VL prompts', () => {
  it('the chat template: default system prompt, a vision block per image, the generation prompt', async () => {
    const dir = join(tmp, 'tpl');
    await writeTinyQwen2VL(dir);
    const tok = await loadTokenizer(dir);
    const text = tok.applyChatTemplate([{ role: 'user', content: [{ type: 'image' }, { type: 'text', text: 'What is this?' }] }], { addGenerationPrompt: true });
    expect(text).toBe('<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\n<|vision_start|><|image_pad|><|vision_end|>What is this?<|im_end|>\n<|im_start|>assistant\n');
    expect(tok.applyChatTemplate([{ role: 'system', content: 'S' }, { role: 'user', content: 'hi' }])).toBe('<|im_start|>system\nS<|im_end|>\n<|im_start|>user\nhi<|im_end|>\n');
  });

  it('expands <|image_pad|> markers or <image> placeholders, never both', () => {
    expect(expandQwen2VLText('a<|vision_start|><|image_pad|><|vision_end|>b', [2])).toBe('a<|vision_start|><|image_pad|><|image_pad|><|vision_end|>b');
    expect(expandQwen2VLText('<image>x<image>', [1, 3])).toBe('<|vision_start|><|image_pad|><|vision_end|>x<|vision_start|><|image_pad|><|image_pad|><|image_pad|><|vision_end|>');
    expect(() => expandQwen2VLText('<image><|image_pad|>', [1, 1])).toThrow(/mixes '<image>' and '<\|image_pad\|>'/);
    expect(() => expandQwen2VLText('<image>', [1, 1])).toThrow(/1 '<image>' image marker\(s\) but 2 image\(s\)/);
    expect(() => expandQwen2VLText('<|video_pad|>', [])).toThrow(PromptError);
  });

  it('prepare: pads per image from its grid, image positions, pixels [patches, 6, 4, 4], M-RoPE rows', async () => {
    const dir = join(tmp, 'prep');
    await writeTinyQwen2VL(dir);
    const config = (await loadModelConfig(dir)) as Qwen2VLConfig;
    const tok = await loadTokenizer(dir);
    const proc = await loadQwen2VLProcessor(dir, config, tok);
    const p = await proc.prepare({ text: 'Hi <image> and <image>.', images: [image(45, 21), image(16, 16)], addSpecialTokens: false });
    // 48 x 24 -> 12 x 6 patches -> 18 tokens; 16 x 16 -> 4 x 4 -> below min_pixels 256? 256 = 16 * 16: kept -> 4 tokens
    expect(p.pixels!.grids).toEqual([[1, 6, 12], [1, 4, 4]]);
    expect(p.imagePositions.map((x) => x.length)).toEqual([18, 4]);
    expect(p.pixels!.shape).toEqual([88, 6, 4, 4]);
    const T = p.ids.length;
    const first = p.imagePositions[0]![0]!;
    // the first image token: (s, s, s); the last of image 1: (s, s + 2, s + 5)
    const at = (i: number): number[] => [0, 1, 2].map((r) => p.ropePositions![r * T + i]!);
    expect(at(first)).toEqual([first, first, first]);
    expect(at(p.imagePositions[0]![17]!)).toEqual([first, first + 2, first + 5]);
    await expect(proc.prepare({ text: '<image>', images: [] })).rejects.toThrow(/1 '<image>' image marker\(s\) but 0 image\(s\)/);
  });
});
