// Qwen2VLProcessor / Qwen2_5_VLProcessor (VLM_FAMILIES.md 4.5) for images: the i-th
// `<|image_pad|>` of the text becomes grid_t * grid_h * grid_w / merge^2 copies of it. The chat
// template writes `<|vision_start|><|image_pad|><|vision_end|>` per image; our prompts may instead
// mark each image with `<image>` (the project's placeholder), which becomes that block. A text uses
// one kind of marker or the other, never both. The prepared prompt carries the flattened patches with
// image_grid_thw, and the multimodal RoPE positions of get_rope_index. Videos are not supported.
import { decodeImage, maxImagePixels } from '../../image/decode.js';
import { ConfigError } from '../../config/fields.js';
import { PromptError } from '../../prompt/errors.js';
import { TokenizerError } from '../../tokenizer/errors.js';
import { requireTokenId } from '../../tokenizer/require-token.js';
import type { RgbImage } from '../../image/types.js';
import type { TextTokenizer } from '../../tokenizer/tokenizer.js';
import type { PreparedPrompt, Processor, PromptInput } from '../types.js';
import type { Qwen2VLConfig } from './config.js';
import { loadQwen2VLImageProcessorConfig, preprocessQwen2VL, type Qwen2VLImageProcessorConfig } from './image-processor.js';
import { qwen2VLRopeIndex } from './rope-index.js';

export const QWEN2_VL_IMAGE_PAD = '<|image_pad|>';
export const QWEN2_VL_VISION_START = '<|vision_start|>';
export const QWEN2_VL_VISION_END = '<|vision_end|>';
export const QWEN2_VL_VIDEO_PAD = '<|video_pad|>';
/** The project's image placeholder, expanded to a whole vision block. */
export const QWEN2_VL_PLACEHOLDER = '<image>';

/** The processor's text: each image marker expanded to that image's `tokens[i]` image pads. */
export function expandQwen2VLText(text: string, tokens: readonly number[]): string {
  const pads = text.split(QWEN2_VL_IMAGE_PAD).length - 1;
  const marks = text.split(QWEN2_VL_PLACEHOLDER).length - 1;
  if (text.includes(QWEN2_VL_VIDEO_PAD)) throw new PromptError(`the prompt has '${QWEN2_VL_VIDEO_PAD}': video input is not supported`);
  if (pads > 0 && marks > 0) throw new PromptError(`the prompt mixes '${QWEN2_VL_PLACEHOLDER}' and '${QWEN2_VL_IMAGE_PAD}' image markers; use one kind`);
  const marker = pads > 0 ? QWEN2_VL_IMAGE_PAD : QWEN2_VL_PLACEHOLDER;
  const parts = text.split(marker);
  if (parts.length - 1 !== tokens.length) {
    throw new PromptError(`the prompt has ${parts.length - 1} '${marker}' image marker(s) but ${tokens.length} image(s) were supplied; each image needs exactly one`);
  }
  let out = parts[0]!;
  tokens.forEach((n, i) => {
    const run = QWEN2_VL_IMAGE_PAD.repeat(n);
    out += (marker === QWEN2_VL_IMAGE_PAD ? run : QWEN2_VL_VISION_START + run + QWEN2_VL_VISION_END) + parts[i + 1]!;
  });
  return out;
}

export class Qwen2VLProcessor implements Processor {
  readonly imageTokenId: number;
  readonly visionStartId: number;

  constructor(
    readonly config: Qwen2VLConfig,
    readonly tokenizer: TextTokenizer,
    readonly imageProcessor: Qwen2VLImageProcessorConfig,
  ) {
    this.imageTokenId = requireTokenId(tokenizer, QWEN2_VL_IMAGE_PAD, 'the Qwen2-VL processor (image tokens)');
    this.visionStartId = requireTokenId(tokenizer, QWEN2_VL_VISION_START, 'the Qwen2-VL processor (image blocks)');
    requireTokenId(tokenizer, QWEN2_VL_VISION_END, 'the Qwen2-VL processor (image blocks)');
    if (this.imageTokenId !== config.imageTokenIndex) {
      throw new TokenizerError(tokenizer.source, `tokenizer.json has '${QWEN2_VL_IMAGE_PAD}' as id ${this.imageTokenId}, but config.json image_token_id is ${config.imageTokenIndex}`);
    }
    if (this.visionStartId !== config.visionStartTokenId) {
      throw new TokenizerError(tokenizer.source, `tokenizer.json has '${QWEN2_VL_VISION_START}' as id ${this.visionStartId}, but config.json vision_start_token_id is ${config.visionStartTokenId}`);
    }
  }

  /** Any image size is usable (smart_resize brings it within max_pixels): Pillow's ceiling or $MTV_MAX_IMAGE_PIXELS. */
  get pixelLimit(): number {
    return maxImagePixels();
  }

  async prepare(input: PromptInput): Promise<PreparedPrompt> {
    const images: RgbImage[] = [];
    for (const src of input.images ?? []) images.push(typeof src === 'string' || src instanceof Uint8Array ? await decodeImage(src, { processorLimit: this.pixelLimit }) : src);
    const pre = images.length > 0 ? preprocessQwen2VL(images, this.imageProcessor).pixels : null;
    const grids = pre?.grids ?? [];
    const m2 = this.imageProcessor.mergeSize ** 2;
    const perImage = grids.map(([t, h, w]) => (t * h * w) / m2);
    const text = expandQwen2VLText(input.text, perImage);
    const ids = this.tokenizer.encode(text, { addSpecialTokens: input.addSpecialTokens ?? true });
    const expected = perImage.reduce((a, b) => a + b, 0);
    const found = ids.reduce((n, id) => n + (id === this.imageTokenId ? 1 : 0), 0);
    if (found !== expected) {
      throw new PromptError(`the tokenizer produced ${found} '${QWEN2_VL_IMAGE_PAD}' token(s) where the images need ${expected}; the text must not contain '${QWEN2_VL_IMAGE_PAD}' other than as image markers`);
    }
    const imagePositions: number[][] = perImage.map(() => []);
    let k = 0;
    ids.forEach((id, pos) => {
      if (id !== this.imageTokenId) return;
      while (imagePositions[k]!.length === perImage[k]) k++;
      imagePositions[k]!.push(pos);
    });
    const ropePositions = qwen2VLRopeIndex(ids, grids, this.imageTokenId, this.visionStartId, this.imageProcessor.mergeSize);
    return { ids: Int32Array.from(ids), imagePositions, pixels: pre, ropePositions };
  }
}

/** The processor of a model directory: preprocessor_config.json (checked against the tower) and the tokenizer. */
export async function loadQwen2VLProcessor(dir: string, config: Qwen2VLConfig, tokenizer: TextTokenizer): Promise<Qwen2VLProcessor> {
  const ip = await loadQwen2VLImageProcessorConfig(dir);
  const v = config.vision;
  for (const [field, got, want, name] of [
    ['patch_size', ip.patchSize, v.patchSize, 'patch_size'],
    ['temporal_patch_size', ip.temporalPatchSize, v.temporalPatchSize, 'temporal_patch_size'],
    ['merge_size', ip.mergeSize, v.spatialMergeSize, 'spatial_merge_size'],
  ] as const) {
    if (got !== want) throw new ConfigError(ip.source, field, `${got} disagrees with config.json vision_config.${name} ${want}`);
  }
  return new Qwen2VLProcessor(config, tokenizer, ip);
}
