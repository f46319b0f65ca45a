// VILA-1.5's processor (VLM_FAMILIES.md 5.2; NVlabs/VILA llava/mm_utils.py process_image,
// tokenizer_image_token, llava/conversation.py), as the MTV reference code (MultiModal-Task-Vector
// MTV/models.py ViLAHelper.insert_image) builds VILA prompts:
//   text.replace('<image>', '<image>\n'), one user turn of the conversation template, generation prompt
//   open; the prompt split on '<image>', every chunk tokenized on its own (a leading BOS kept on the first
//   chunk only), one image sentinel between chunks.
// VILA splices the 196 (mergedGrid^2) feature rows in place of a single -200 sentinel; our prepared prompt
// carries one image-token id per feature row instead (config.imageTokenIndex = the text vocabulary size,
// an id no token has, replaced before any embedding lookup), so positions are the same.
import { join } from 'node:path';
import { decodeImage, processorPixelLimit } from '../../image/decode.js';
import { loadPreprocessorConfig, type PreprocessorConfig } from '../../image/config.js';
import { ImageError } from '../../image/errors.js';
import { preprocessImage } from '../../image/preprocess.js';
import { pilResize } from '../../image/resample.js';
import type { RgbImage } from '../../image/types.js';
import { PromptError } from '../../prompt/errors.js';
import type { TextTokenizer } from '../../tokenizer/tokenizer.js';
import type { ImageInput, PixelBatch, PreparedPrompt, Processor, PromptInput } from '../types.js';
import type { VilaConfig } from './config.js';

export const VILA_IMAGE_TOKEN = '<image>';

export type VilaTemplate = 'llama_3' | 'vicuna_v1';

/** conv_templates['llama_3'] (llama_3_chat) of VILA's conversation.py from Aug 2024 on (sep <|eot_id|>; the May 2024 release used <|end_of_text|>), the code MTV's reference ran. */
const LLAMA3_SYSTEM =
  '<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nYou are a helpful language and vision assistant. ' +
  'You are able to understand the visual content that the user provides, ' +
  'and assist the user with a variety of tasks using natural language.';
const LLAMA3_HEADER_TOKENS = ['<|start_header_id|>', '<|end_header_id|>', '<|eot_id|>'];

/** conv_templates['vicuna_v1']. */
const VICUNA_SYSTEM = "A chat between a curious user and an artificial intelligence assistant. The assistant gives helpful, detailed, and polite answers to the user's questions.";

/** The template a tokenizer takes: llama_3 when it has the Llama-3 header tokens (Llama-3-VILA1.5-8B), else vicuna_v1 (VILA1.5-3b). */
export function vilaTemplateFor(tokenizer: TextTokenizer): VilaTemplate {
  return LLAMA3_HEADER_TOKENS.every((t) => tokenizer.tokenToId(t) !== undefined) ? 'llama_3' : 'vicuna_v1';
}

/**
 * The prompt text: each '<image>' followed by a newline (MTV's insert_image), as the one user message of
 * `template` with the assistant turn open (Conversation.get_prompt with messages [[user, text], [assistant, None]]).
 */
export function vilaPromptText(text: string, template: VilaTemplate): string {
  const msg = text.replaceAll(VILA_IMAGE_TOKEN, `${VILA_IMAGE_TOKEN}\n`);
  if (template === 'llama_3') {
    // SeparatorStyle.LLAMA_3: system + sep, role + message + sep, then the open role.
    return `${LLAMA3_SYSTEM}<|eot_id|><|start_header_id|>user<|end_header_id|>\n\n${msg}<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n`;
  }
  // SeparatorStyle.TWO with sep ' ': system + sep, 'USER: ' + message + sep, 'ASSISTANT:'.
  return `${VICUNA_SYSTEM} USER: ${msg} ASSISTANT:`;
}

/**
 * tokenizer_image_token: the text split on '<image>', each chunk encoded alone; when the first chunk starts
 * with the tokenizer's BOS, every later chunk loses its first token (its own BOS). Each '<image>' becomes
 * `perImage` image-token ids.
 */
export function vilaTokenize(tokenizer: TextTokenizer, text: string, imageTokenId: number, perImage: number, addSpecialTokens = true): { ids: Int32Array; imagePositions: number[][] } {
  const chunks = text.split(VILA_IMAGE_TOKEN).map((c) => tokenizer.encode(c, { addSpecialTokens }));
  const bos = tokenizer.specialTokens.bos?.id;
  const offset = chunks[0]!.length > 0 && bos !== undefined && chunks[0]![0] === bos ? 1 : 0;
  const ids: number[] = [];
  const imagePositions: number[][] = [];
  chunks.forEach((chunk, k) => {
    if (k > 0) {
      const pos: number[] = [];
      for (let r = 0; r < perImage; r++) {
        pos.push(ids.length);
        ids.push(imageTokenId);
      }
      imagePositions.push(pos);
    }
    ids.push(...(k === 0 ? chunk : chunk.slice(offset)));
  });
  return { ids: Int32Array.from(ids), imagePositions };
}

/** expand2square: the image centred on a square canvas of `color` (the longer side; offsets (long - short) // 2). */
export function expandToSquare(img: RgbImage, color: readonly [number, number, number]): RgbImage {
  const { width: w, height: h } = img;
  if (w === h) return img;
  const s = Math.max(w, h);
  const out = new Uint8Array(s * s * 3);
  for (let i = 0; i < s * s; i++) out.set(color, i * 3);
  const x0 = w > h ? 0 : Math.floor((h - w) / 2);
  const y0 = w > h ? Math.floor((w - h) / 2) : 0;
  for (let y = 0; y < h; y++) out.set(img.data.subarray(y * w * 3, (y + 1) * w * 3), ((y0 + y) * s + x0) * 3);
  return { width: s, height: s, data: out, source: img.source };
}

/**
 * process_image for one decoded RGB image: 'resize' is image.resize((size.height, size.width)) with
 * Pillow's default filter (bicubic), 'pad' expand2square with int(mean * 255); then the SigLIP processor
 * (its resize, a no-op at that size, rescale, normalise).
 */
export async function vilaPixels(img: RgbImage, config: VilaConfig, pp: PreprocessorConfig): Promise<Float32Array> {
  let cur = img;
  if (config.imageAspectRatio === 'resize') {
    if (pp.size.mode !== 'exact') throw new ImageError(pp.source, 'VILA resizes to the SigLIP processor size {height, width}; this preprocessor has a shortest_edge size');
    // PIL's resize takes (width, height): VILA passes (height, width); equal for square towers.
    cur = pilResize(cur, pp.size.height, pp.size.width, 'bicubic');
  } else if (config.imageAspectRatio === 'pad') {
    cur = expandToSquare(cur, pp.imageMean.map((m) => Math.trunc(m * 255)) as [number, number, number]);
  }
  const pv = await preprocessImage(cur, pp);
  const S = config.vision.imageSize;
  if (pv.shape[1] !== S || pv.shape[2] !== S) throw new ImageError(img.source, `preprocesses to ${pv.shape.join('x')}, but the vision tower takes 3x${S}x${S}`);
  return pv.data;
}

const isRgbImage = (v: ImageInput): v is RgbImage => typeof v === 'object' && !(v instanceof Uint8Array);

export class VilaProcessor implements Processor {
  readonly template: VilaTemplate;

  constructor(
    readonly config: VilaConfig,
    readonly tokenizer: TextTokenizer,
    readonly preprocessor: PreprocessorConfig,
  ) {
    this.template = vilaTemplateFor(tokenizer);
  }

  /** Reads vision_tower/preprocessor_config.json (SiglipImageProcessor), where VILA keeps it. */
  static async load(dir: string, config: VilaConfig, tokenizer: TextTokenizer): Promise<VilaProcessor> {
    const pp = await loadPreprocessorConfig(join(dir, 'vision_tower'));
    if (pp.kind !== 'siglip') throw new ImageError(pp.source, `image processor ${pp.processorType} is not supported for VILA (supported: SiglipImageProcessor)`);
    return new VilaProcessor(config, tokenizer, pp);
  }

  get pixelLimit(): number {
    return processorPixelLimit(this.preprocessor);
  }

  /**
   * With addSpecialTokens (the default) the text is wrapped in the conversation template and BOS is
   * added as the tokenizer does; with addSpecialTokens false the text is tokenized as given.
   */
  async prepare(input: PromptInput): Promise<PreparedPrompt> {
    const images = input.images ?? [];
    const marks = input.text.split(VILA_IMAGE_TOKEN).length - 1;
    if (marks !== images.length) throw new PromptError(`the prompt has ${marks} '${VILA_IMAGE_TOKEN}' placeholder(s) but ${images.length} image(s) were supplied; each image needs exactly one placeholder`);
    const special = input.addSpecialTokens ?? true;
    const text = special ? vilaPromptText(input.text, this.template) : input.text;
    const c = this.config;
    const { ids, imagePositions } = vilaTokenize(this.tokenizer, text, c.imageTokenIndex, c.imageSeqLength, special);
    if (images.length === 0) return { ids, imagePositions, pixels: null };
    const S = c.vision.imageSize;
    const size = 3 * S * S;
    const data = new Float32Array(images.length * size);
    for (let i = 0; i < images.length; i++) {
      const src = images[i]!;
      const img = isRgbImage(src) ? src : await decodeImage(src, { processorLimit: this.pixelLimit });
      data.set(await vilaPixels(img, c, this.preprocessor), i * size);
    }
    const pixels: PixelBatch = { data, shape: [images.length, 3, S, S] };
    return { ids, imagePositions, pixels };
  }
}
