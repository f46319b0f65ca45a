// LlavaProcessor's prompt expansion: each `<image>` placeholder becomes imageSeqLength copies of the image
// token id; the model later overwrites those positions, in order, with the image features.
import { PromptError } from './errors.js';

/** Text, or an image placeholder (rendered as the image token string). */
export type PromptPart = string | { type: 'text'; text: string } | { type: 'image' };

/** The one tokenizer method buildPrompt needs (TextTokenizer has it). */
export interface PromptTokenizer {
  encode(text: string, options?: { addSpecialTokens?: boolean }): number[];
}

export interface BuildPromptOptions {
  tokenizer: PromptTokenizer;
  /** config.json image_token_index (llava-1.5: 32000, interleave-qwen: 151646). */
  imageTokenId: number;
  /** Feature rows per image (llava-1.5: 576, interleave: 729); see llavaImageSeqLength. */
  imageSeqLength: number;
  /** How many images go with the prompt; must equal the number of placeholders. */
  numImages: number;
  /** The placeholder text; default `<image>`. It must be a single added token of the tokenizer. */
  imageToken?: string;
  /** Passed to encode (e.g. Llama's leading `<s>`). Default true, like the processor. */
  addSpecialTokens?: boolean;
}

export interface BuiltPrompt {
  ids: Int32Array;
  /** imagePositions[k]: the token positions, in order, that image k's feature rows fill. */
  imagePositions: number[][];
}

function countOccurrences(text: string, token: string): number {
  let n = 0;
  for (let i = text.indexOf(token); i !== -1; i = text.indexOf(token, i + token.length)) n++;
  return n;
}

const isCount = (v: number): boolean => Number.isInteger(v) && v >= 0;

export function buildPrompt(parts: string | readonly PromptPart[], options: BuildPromptOptions): BuiltPrompt {
  const { tokenizer, imageTokenId, imageSeqLength, numImages } = options;
  const imageToken = options.imageToken ?? '<image>';
  if (!isCount(imageTokenId)) throw new PromptError(`imageTokenId must be a non-negative integer, got ${imageTokenId}`);
  if (!isCount(imageSeqLength) || imageSeqLength === 0) throw new PromptError(`imageSeqLength must be a positive integer, got ${imageSeqLength}`);
  if (!isCount(numImages)) throw new PromptError(`numImages must be a non-negative integer, got ${numImages}`);
  if (imageToken.length === 0) throw new PromptError('imageToken must not be empty');

  const text =
    typeof parts === 'string'
      ? parts
      : parts.map((p) => (typeof p === 'string' ? p : p.type === 'image' ? imageToken : p.text)).join('');
  const placeholders = countOccurrences(text, imageToken);
  if (placeholders !== numImages) {
    throw new PromptError(`the prompt has ${placeholders} '${imageToken}' placeholder(s) but ${numImages} image(s) were supplied; each image needs exactly one placeholder`);
  }

  if (placeholders > 0) {
    const alone = tokenizer.encode(imageToken, { addSpecialTokens: false });
    if (alone.length !== 1 || alone[0] !== imageTokenId) {
      throw new PromptError(`'${imageToken}' encodes to [${alone.join(', ')}], not to the single image token id ${imageTokenId} (config.json image_token_index)`);
    }
  }
  // Encoding one placeholder per image and widening it afterwards gives the same ids as encoding the
  // expanded text (added tokens are split out before normalisation), without tokenizing N copies.
  const ids = tokenizer.encode(text, { addSpecialTokens: options.addSpecialTokens ?? true });
  const found = ids.reduce((n, id) => n + (id === imageTokenId ? 1 : 0), 0);
  if (found !== placeholders) {
    throw new PromptError(
      `the tokenizer produced ${found} id(s) ${imageTokenId} for ${placeholders} '${imageToken}' placeholder(s); ` +
        `'${imageToken}' must be one added token whose id is imageTokenId, and the text must not contain id ${imageTokenId} otherwise`,
    );
  }

  const out = new Int32Array(ids.length + placeholders * (imageSeqLength - 1));
  const imagePositions: number[][] = [];
  let o = 0;
  for (const id of ids) {
    if (id !== imageTokenId) {
      out[o++] = id;
      continue;
    }
    const run: number[] = [];
    for (let k = 0; k < imageSeqLength; k++) {
      run.push(o);
      out[o++] = imageTokenId;
    }
    imagePositions.push(run);
  }
  return { ids: out, imagePositions };
}

export interface LlavaSeqLengthOptions {
  /** vision_config.image_size (square) or the processed image's {height, width}. */
  imageSize: number | { height: number; width: number };
  patchSize: number;
  /** 'default' drops CLIP's class token, 'full' keeps every token. */
  visionFeatureSelectStrategy: 'default' | 'full';
  /** 1 for CLIP (class token), 0 for SigLIP. */
  numAdditionalImageTokens: number;
}

/** LlavaProcessor's count: (H // patch) * (W // patch) + additional tokens, minus 1 for 'default'. */
export function llavaImageSeqLength(o: LlavaSeqLengthOptions): number {
  const { height, width } = typeof o.imageSize === 'number' ? { height: o.imageSize, width: o.imageSize } : o.imageSize;
  if (![height, width, o.patchSize].every((v) => Number.isInteger(v) && v > 0) || !isCount(o.numAdditionalImageTokens)) {
    throw new PromptError(`llavaImageSeqLength: bad sizes ${JSON.stringify(o)}`);
  }
  const n = Math.floor(height / o.patchSize) * Math.floor(width / o.patchSize) + o.numAdditionalImageTokens - (o.visionFeatureSelectStrategy === 'default' ? 1 : 0);
  if (n <= 0) throw new PromptError(`llavaImageSeqLength: ${JSON.stringify(o)} gives ${n} tokens`);
  return n;
}
