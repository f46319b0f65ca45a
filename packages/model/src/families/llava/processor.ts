// LlavaProcessor: each `<image>` in the text becomes imageSeqLength image tokens, and each image is
// decoded (as Pillow would), resized, cropped and normalised by the CLIP / SigLIP image processor
// (VLM_FORMATS.md 1.6, 5).
import { decodeImage, processorPixelLimit } from '../../image/decode.js';
import { loadPreprocessorConfig, type PreprocessorConfig } from '../../image/config.js';
import { preprocessImage } from '../../image/preprocess.js';
import { buildPrompt } from '../../prompt/build.js';
import type { TextTokenizer } from '../../tokenizer/tokenizer.js';
import type { PreparedPrompt, Processor, PromptInput } from '../types.js';
import type { LlavaConfig } from './config.js';

export class LlavaProcessor implements Processor {
  constructor(
    readonly config: LlavaConfig,
    readonly tokenizer: TextTokenizer,
    readonly preprocessor: PreprocessorConfig,
  ) {}

  static async load(dir: string, config: LlavaConfig, tokenizer: TextTokenizer): Promise<LlavaProcessor> {
    return new LlavaProcessor(config, tokenizer, await loadPreprocessorConfig(dir));
  }

  /** Refused from the header above this ($MTV_MAX_IMAGE_PIXELS, else what the processor can use). */
  get pixelLimit(): number {
    return processorPixelLimit(this.preprocessor);
  }

  async prepare(input: PromptInput): Promise<PreparedPrompt> {
    const images = input.images ?? [];
    const c = this.config;
    const built = buildPrompt(input.text, {
      tokenizer: this.tokenizer,
      imageTokenId: c.imageTokenIndex,
      imageSeqLength: c.imageSeqLength,
      numImages: images.length,
      addSpecialTokens: input.addSpecialTokens ?? true,
    });
    if (images.length === 0) return { ids: built.ids, imagePositions: built.imagePositions, pixels: null };
    const { numChannels: C, imageSize: S } = c.vision;
    const size = C * S * S;
    const data = new Float32Array(images.length * size);
    for (let i = 0; i < images.length; i++) {
      const src = images[i]!;
      const img = typeof src === 'string' || src instanceof Uint8Array ? await decodeImage(src, { processorLimit: this.pixelLimit }) : src;
      const pv = await preprocessImage(img, this.preprocessor);
      if (pv.data.length !== size) {
        throw new Error(`image ${i} (${img.source}) preprocesses to ${pv.shape.join('x')}, but the vision tower expects ${C}x${S}x${S}`);
      }
      data.set(pv.data, i * size);
    }
    return { ids: built.ids, imagePositions: built.imagePositions, pixels: { data, shape: [images.length, C, S, S] } };
  }
}
