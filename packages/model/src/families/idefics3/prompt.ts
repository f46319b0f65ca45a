// Idefics3Processor (SmolVLM; VLM_FAMILIES.md 1.6): each `<image>` of the text becomes, for an image
// split into rows x cols tiles,
//   for r in 1..rows: (for c in 1..cols: <fake_token_around_image><row_r_col_c><image>*S) then "\n"
//   then "\n<fake_token_around_image><global-img><image>*S<fake_token_around_image>"
// and, for an unsplit image (rows = cols = 0), "<fake_token_around_image><global-img><image>*S<fake_token_around_image>",
// with S = processor_config.json image_seq_len (Idefics3Processor's default 169). The expanded text is
// then tokenised whole, as the processor does (the "\n" of the last row and the global part's "\n"
// tokenise however the tokenizer joins them).
//
// Special tokens: <image> and <fake_token_around_image> must be tokens of tokenizer.json (the processor
// would otherwise add them as new ids the embedding table lacks); <image> must be config.json's
// image_token_id. <global-img> and <row_r_col_c> are used as written: SmolVLM-256M/-500M have them as
// added tokens, SmolVLM-Instruct (2.2B) has none and tokenises them as text, exactly like transformers.
import { join } from 'node:path';
import { decodeImage, maxImagePixels } from '../../image/decode.js';
import { ConfigError } from '../../config/fields.js';
import { readConfigObject } from '../../config/read.js';
import { PromptError } from '../../prompt/errors.js';
import { TokenizerError } from '../../tokenizer/errors.js';
import { requireTokenId } from '../../tokenizer/require-token.js';
import type { RgbImage } from '../../image/types.js';
import type { TextTokenizer } from '../../tokenizer/tokenizer.js';
import type { PreparedPrompt, Processor, PromptInput } from '../types.js';
import type { Idefics3Config } from './config.js';
import { idefics3PixelNeed, loadIdefics3ImageProcessorConfig, preprocessIdefics3, type Idefics3ImageProcessorConfig } from './image-processor.js';

export const IDEFICS3_IMAGE_TOKEN = '<image>';
export const IDEFICS3_FAKE_TOKEN = '<fake_token_around_image>';
export const IDEFICS3_GLOBAL_IMG_TOKEN = '<global-img>';
export const IDEFICS3_END_OF_UTTERANCE = '<end_of_utterance>';
/** Idefics3Processor's image_seq_len when processor_config.json does not give one. */
export const IDEFICS3_DEFAULT_IMAGE_SEQ_LEN = 169;

/** The text one image expands to (get_image_prompt_string). */
export function idefics3ImagePromptString(rows: number, cols: number, imageSeqLen: number): string {
  const images = IDEFICS3_IMAGE_TOKEN.repeat(imageSeqLen);
  const global = `${IDEFICS3_FAKE_TOKEN}${IDEFICS3_GLOBAL_IMG_TOKEN}${images}${IDEFICS3_FAKE_TOKEN}`;
  if (rows === 0 && cols === 0) return global;
  let s = '';
  for (let r = 1; r <= rows; r++) {
    for (let c = 1; c <= cols; c++) s += `${IDEFICS3_FAKE_TOKEN}<row_${r}_col_${c}>${images}`;
    s += '\n';
  }
  return `${s}\n${global}`;
}

/** Frames (tiles + global, or 1) an image of this grid contributes. */
export const idefics3FrameCount = (g: { rows: number; cols: number }): number => (g.rows === 0 && g.cols === 0 ? 1 : g.rows * g.cols + 1);

/** The processor's expanded text: the k-th `<image>` replaced by image k's prompt string. */
export function expandIdefics3Text(text: string, grids: readonly { rows: number; cols: number }[], imageSeqLen: number): string {
  const parts = text.split(IDEFICS3_IMAGE_TOKEN);
  const placeholders = parts.length - 1;
  if (placeholders !== grids.length) {
    throw new PromptError(`the prompt has ${placeholders} '${IDEFICS3_IMAGE_TOKEN}' placeholder(s) but ${grids.length} image(s) were supplied; each image needs exactly one placeholder`);
  }
  let out = parts[0]!;
  grids.forEach((g, i) => {
    out += idefics3ImagePromptString(g.rows, g.cols, imageSeqLen) + parts[i + 1]!;
  });
  return out;
}

/** processor_config.json's image_seq_len (the default 169 when the file or field is absent). */
export async function loadIdefics3ImageSeqLen(dir: string): Promise<{ imageSeqLen: number; declared: boolean; file: string }> {
  const file = join(dir, 'processor_config.json');
  const raw = await readConfigObject(file, { optional: true });
  if (raw === null) return { imageSeqLen: IDEFICS3_DEFAULT_IMAGE_SEQ_LEN, declared: false, file };
  const v = raw['image_seq_len'];
  if (v === undefined || v === null) return { imageSeqLen: IDEFICS3_DEFAULT_IMAGE_SEQ_LEN, declared: false, file };
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) throw new ConfigError(file, 'image_seq_len', `must be a positive integer, got ${JSON.stringify(v)}`);
  return { imageSeqLen: v, declared: true, file };
}

export class Idefics3Processor implements Processor {
  readonly imageTokenId: number;
  readonly fakeTokenId: number;

  constructor(
    readonly config: Idefics3Config,
    readonly tokenizer: TextTokenizer,
    readonly imageProcessor: Idefics3ImageProcessorConfig,
    /** Image tokens per frame, as the prompt writes them. */
    readonly imageSeqLen: number,
  ) {
    this.imageTokenId = requireTokenId(tokenizer, IDEFICS3_IMAGE_TOKEN, 'the Idefics3 processor (image placeholders)');
    this.fakeTokenId = requireTokenId(tokenizer, IDEFICS3_FAKE_TOKEN, 'the Idefics3 processor (image delimiters)');
    if (this.imageTokenId !== config.imageTokenIndex) {
      throw new TokenizerError(tokenizer.source, `tokenizer.json has '${IDEFICS3_IMAGE_TOKEN}' as id ${this.imageTokenId}, but config.json image_token_id is ${config.imageTokenIndex}`);
    }
  }

  /** Refused from the header above this ($MTV_MAX_IMAGE_PIXELS, else what the processor can use). */
  get pixelLimit(): number {
    return maxImagePixels(undefined, idefics3PixelNeed(this.imageProcessor));
  }

  async prepare(input: PromptInput): Promise<PreparedPrompt> {
    const sources = input.images ?? [];
    const images: RgbImage[] = [];
    for (const src of sources) images.push(typeof src === 'string' || src instanceof Uint8Array ? await decodeImage(src, { processorLimit: this.pixelLimit }) : src);
    const pre = images.length > 0 ? preprocessIdefics3(images, this.imageProcessor) : null;
    const grids = pre?.grids ?? [];
    const text = expandIdefics3Text(input.text, grids, this.imageSeqLen);
    const ids = this.tokenizer.encode(text, { addSpecialTokens: input.addSpecialTokens ?? true });

    const perImage = grids.map((g) => idefics3FrameCount(g) * this.imageSeqLen);
    const expected = perImage.reduce((a, b) => a + b, 0);
    const found = ids.reduce((n, id) => n + (id === this.imageTokenId ? 1 : 0), 0);
    if (found !== expected) {
      throw new PromptError(
        `the tokenizer produced ${found} id(s) ${this.imageTokenId} ('${IDEFICS3_IMAGE_TOKEN}') where the images need ${expected}; ` +
          `the text must not contain '${IDEFICS3_IMAGE_TOKEN}' other than as the image placeholders`,
      );
    }
    const imagePositions: number[][] = perImage.map(() => []);
    let k = 0;
    ids.forEach((id, pos) => {
      if (id !== this.imageTokenId) return;
      while (imagePositions[k]!.length === perImage[k]) k++;
      imagePositions[k]!.push(pos);
    });
    return { ids: Int32Array.from(ids), imagePositions, pixels: pre?.pixels ?? null };
  }
}

/**
 * The Idefics3 processor of a model directory: preprocessor_config.json, processor_config.json's
 * image_seq_len (which must equal the config's (image_size // patch)^2 / scale^2), and the tokenizer.
 */
export async function loadIdefics3Processor(dir: string, config: Idefics3Config, tokenizer: TextTokenizer): Promise<Idefics3Processor> {
  const imageProcessor = await loadIdefics3ImageProcessorConfig(dir);
  const { imageSeqLen, declared, file } = await loadIdefics3ImageSeqLen(dir);
  if (imageSeqLen !== config.imageSeqLen) {
    throw new ConfigError(
      file,
      'image_seq_len',
      `${imageSeqLen}${declared ? '' : ' (Idefics3Processor\'s default: the file or field is absent)'} disagrees with config.json, ` +
        `whose tiles give (image_size ${config.vision.imageSize} // patch_size ${config.vision.patchSize})^2 / scale_factor ${config.scaleFactor}^2 = ${config.imageSeqLen} tokens`,
    );
  }
  const m = imageProcessor.maxImageSize;
  if (Math.floor(m / config.vision.patchSize) !== config.patchesPerSide) {
    throw new ConfigError(
      imageProcessor.source,
      'max_image_size.longest_edge',
      `${m} makes tiles of ${Math.floor(m / config.vision.patchSize)}^2 patches, ` +
        `but config.json's tower has ${config.patchesPerSide}^2 (image_size ${config.vision.imageSize}, patch_size ${config.vision.patchSize}); the image token count would not match`,
    );
  }
  return new Idefics3Processor(config, tokenizer, imageProcessor, imageSeqLen);
}
