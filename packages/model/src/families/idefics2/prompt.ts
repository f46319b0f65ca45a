// Idefics2Processor's prompt expansion (VLM_FAMILIES.md 2.6) and the family's Processor: every `<image>`
// becomes `<fake_token_around_image>` + `<image>` x image_seq_len + `<fake_token_around_image>`, five
// times over with image splitting; then each `<fake><fake>` pair (adjacent frames or images) is
// collapsed to one `<fake>` (Python str.replace: left to right, non-overlapping, as JS replaceAll).
import { join } from 'node:path';
import { ConfigError, Fields, isObject } from '../../config/fields.js';
import { readJsonFile } from '../../files/read-json.js';
import { decodeImage, MAX_IMAGE_PIXELS } from '../../image/decode.js';
import type { RgbImage } from '../../image/types.js';
import { PromptError } from '../../prompt/errors.js';
import { TokenizerError } from '../../tokenizer/errors.js';
import { requireTokenId } from '../../tokenizer/require-token.js';
import type { TextTokenizer } from '../../tokenizer/tokenizer.js';
import type { ImageInput, PreparedPrompt, Processor, PromptInput } from '../types.js';
import type { Idefics2Config } from './config.js';
import { framesPerIdefics2Image, parseIdefics2ImageProcessorConfig, preprocessIdefics2, type Idefics2ImageProcessorConfig } from './image-processor.js';

export const IDEFICS2_IMAGE_TOKEN = '<image>';
export const IDEFICS2_FAKE_IMAGE_TOKEN = '<fake_token_around_image>';
export const IDEFICS2_END_OF_UTTERANCE = '<end_of_utterance>';

/** The prompt text as Idefics2Processor tokenises it: each `<image>` expanded for `framesPerImage` frames. */
export function expandIdefics2Text(text: string, imageSeqLen: number, framesPerImage: number): string {
  const one = IDEFICS2_FAKE_IMAGE_TOKEN + IDEFICS2_IMAGE_TOKEN.repeat(imageSeqLen) + IDEFICS2_FAKE_IMAGE_TOKEN;
  const expanded = text.replaceAll(IDEFICS2_IMAGE_TOKEN, one.repeat(framesPerImage));
  return expanded.replaceAll(IDEFICS2_FAKE_IMAGE_TOKEN + IDEFICS2_FAKE_IMAGE_TOKEN, IDEFICS2_FAKE_IMAGE_TOKEN);
}

function countOccurrences(text: string, token: string): number {
  let n = 0;
  for (let i = text.indexOf(token); i !== -1; i = text.indexOf(token, i + token.length)) n++;
  return n;
}

export interface Idefics2PromptIds {
  ids: Int32Array;
  imagePositions: number[][];
}

/**
 * Token ids of `text` with `numImages` `<image>` placeholders, each image `framesPerImage` frames of
 * `config.imageSeqLen` image tokens; imagePositions[k] lists image k's image-token positions in order.
 */
export function buildIdefics2Prompt(
  tokenizer: TextTokenizer,
  config: Idefics2Config,
  text: string,
  numImages: number,
  framesPerImage: number,
  addSpecialTokens = true,
): Idefics2PromptIds {
  const placeholders = countOccurrences(text, IDEFICS2_IMAGE_TOKEN);
  if (placeholders !== numImages) {
    throw new PromptError(`the prompt has ${placeholders} '${IDEFICS2_IMAGE_TOKEN}' placeholder(s) but ${numImages} image(s) were supplied; each image needs exactly one placeholder`);
  }
  const purpose = 'the Idefics2 processor for image placeholders';
  const imageId = requireTokenId(tokenizer, IDEFICS2_IMAGE_TOKEN, purpose);
  if (imageId !== config.imageTokenIndex) {
    throw new TokenizerError(tokenizer.source, `tokenizer.json gives '${IDEFICS2_IMAGE_TOKEN}' id ${imageId}, but config.json image_token_id is ${config.imageTokenIndex}`);
  }
  if (numImages > 0) requireTokenId(tokenizer, IDEFICS2_FAKE_IMAGE_TOKEN, purpose);
  const ids = tokenizer.encode(expandIdefics2Text(text, config.imageSeqLen, framesPerImage), { addSpecialTokens });
  const perImage = framesPerImage * config.imageSeqLen;
  const positions: number[] = [];
  ids.forEach((id, i) => void (id === imageId && positions.push(i)));
  if (positions.length !== numImages * perImage) {
    throw new PromptError(`the tokenizer produced ${positions.length} '${IDEFICS2_IMAGE_TOKEN}' id(s) ${imageId}, expected ${numImages} image(s) x ${perImage}`);
  }
  const imagePositions: number[][] = [];
  for (let k = 0; k < numImages; k++) imagePositions.push(positions.slice(k * perImage, (k + 1) * perImage));
  return { ids: Int32Array.from(ids), imagePositions };
}

/** processor_config.json's image_seq_len (Idefics2Processor's default 64 when the file or field is absent). */
function parseImageSeqLen(json: unknown, file: string): number {
  if (json === null) return 64;
  if (!isObject(json)) throw new ConfigError(file, '(root)', `expected a JSON object, got ${JSON.stringify(json)}`);
  return new Fields(file, json).positive('image_seq_len', 64);
}

const isRgbImage = (v: ImageInput): v is RgbImage => typeof v === 'object' && !(v instanceof Uint8Array);

class Idefics2Processor implements Processor {
  readonly pixelLimit: number;

  constructor(
    private readonly config: Idefics2Config,
    private readonly tokenizer: TextTokenizer,
    private readonly imageConfig: Idefics2ImageProcessorConfig,
  ) {
    // Frames end up at most longest_edge on a side; an image over 4096 times that area carries nothing more.
    const s = imageConfig.size;
    const side = s.mode === 'edges' ? Math.max(s.longestEdge, s.shortestEdge) : Math.max(s.height, s.width);
    this.pixelLimit = Math.min(MAX_IMAGE_PIXELS, side * side * 4096);
  }

  async prepare(input: PromptInput): Promise<PreparedPrompt> {
    const images: RgbImage[] = [];
    for (const im of input.images ?? []) images.push(isRgbImage(im) ? im : await decodeImage(im, { processorLimit: this.pixelLimit }));
    const frames = framesPerIdefics2Image(this.imageConfig);
    const { ids, imagePositions } = buildIdefics2Prompt(this.tokenizer, this.config, input.text, images.length, frames, input.addSpecialTokens ?? true);
    const pixels = images.length === 0 ? null : preprocessIdefics2(images, this.imageConfig).pixels;
    return { ids, imagePositions, pixels };
  }
}

/**
 * The Idefics2 processor of a model directory: preprocessor_config.json (required) and
 * processor_config.json (optional), whose image_seq_len must equal the perceiver's resampler_n_latents.
 */
export async function loadIdefics2Processor(dir: string, config: Idefics2Config, tokenizer: TextTokenizer): Promise<Processor> {
  const ppFile = join(dir, 'preprocessor_config.json');
  const ppJson = await readJsonFile(ppFile, (reason) => new ConfigError(ppFile, '(file)', `cannot read the image processor config: ${reason}`));
  const imageConfig = parseIdefics2ImageProcessorConfig(ppJson, ppFile);
  const procFile = join(dir, 'processor_config.json');
  let procJson: unknown = null;
  try {
    procJson = await readJsonFile(procFile, (reason) => new ConfigError(procFile, '(file)', reason));
  } catch (e) {
    // Absent: transformers uses Idefics2Processor's default. Present but unreadable or not JSON: an error.
    if (!/ENOENT/.test((e as Error).message)) throw e;
  }
  const imageSeqLen = parseImageSeqLen(procJson, procFile);
  if (imageSeqLen !== config.imageSeqLen) {
    throw new ConfigError(procFile, 'image_seq_len', `${imageSeqLen} differs from config.json perceiver_config.resampler_n_latents ${config.imageSeqLen}: the prompt would hold a different number of image tokens than the perceiver makes`);
  }
  return new Idefics2Processor(config, tokenizer, imageConfig);
}
