// LlavaProcessor: each `<image>` in the text becomes imageSeqLength image tokens, and each image is
// decoded (as Pillow would), resized, cropped and normalised by the CLIP / SigLIP image processor
// (VLM_FORMATS.md 1.6, 5).
import { join } from 'node:path';
import { ConfigError } from '../../config/fields.js';
import { readConfigObject } from '../../config/read.js';
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

  /** Reads preprocessor_config.json, and checks processor_config.json (when present) against the tower. */
  static async load(dir: string, config: LlavaConfig, tokenizer: TextTokenizer): Promise<LlavaProcessor> {
    const preprocessor = await loadPreprocessorConfig(dir);
    await checkProcessorConfig(join(dir, PROCESSOR_CONFIG), config, preprocessor);
    return new LlavaProcessor(config, tokenizer, preprocessor);
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

export const PROCESSOR_CONFIG = 'processor_config.json';

/**
 * transformers' LlavaProcessor expands each `<image>` to the count processor_config.json implies, and
 * the model then refuses a prompt whose image tokens differ from its image features; our prompt uses
 * the tower's count (config.imageSeqLength), so a processor_config.json that disagrees is refused here
 * rather than silently ignored. The count is `num_image_tokens` when written, else LlavaProcessor's
 * (processing_llava.py): (height // patch_size) * (width // patch_size) + num_additional_image_tokens,
 * minus 1 with vision_feature_select_strategy 'default', for the preprocessed image size. Without
 * patch_size and the strategy, older LlavaProcessor versions leave the expansion to the model: nothing
 * to check. A missing file is fine (older checkpoints have none).
 */
export async function checkProcessorConfig(file: string, config: LlavaConfig, pp: PreprocessorConfig): Promise<void> {
  const json = await readConfigObject(file, { optional: true });
  if (json === null) return;
  const want = config.imageSeqLength;
  const tower = `the vision tower gives ${want} image features per image (config.json: ${config.vision.modelType} image_size ${config.vision.imageSize}, patch_size ${config.vision.patchSize}, vision_feature_select_strategy '${config.visionFeatureSelectStrategy}')`;
  const int = (key: string, min: number): number => {
    const v = json[key];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min) throw new ConfigError(file, key, `expected an integer >= ${min}, got ${JSON.stringify(v)}`);
    return v;
  };
  if (json['num_image_tokens'] !== undefined && json['num_image_tokens'] !== null) {
    const n = int('num_image_tokens', 1);
    if (n !== want) throw new ConfigError(file, 'num_image_tokens', `${n} image tokens per image, but ${tower}`);
    return;
  }
  const patch = json['patch_size'];
  const strategy = json['vision_feature_select_strategy'];
  if (patch === undefined || patch === null || strategy === undefined || strategy === null) return;
  const p = int('patch_size', 1);
  if (strategy !== 'default' && strategy !== 'full') throw new ConfigError(file, 'vision_feature_select_strategy', `expected 'default' or 'full', got ${JSON.stringify(strategy)}`);
  const extra = json['num_additional_image_tokens'] === undefined || json['num_additional_image_tokens'] === null ? 0 : int('num_additional_image_tokens', 0);
  const { height, width } = processedSize(pp);
  const n = Math.floor(height / p) * Math.floor(width / p) + extra - (strategy === 'default' ? 1 : 0);
  if (n !== want) {
    throw new ConfigError(file, 'patch_size', `LlavaProcessor would expand each <image> to ${n} tokens ((${height} // ${p}) * (${width} // ${p}) + num_additional_image_tokens ${extra}${strategy === 'default' ? ' - 1 for strategy default' : ''}, ${pp.source} gives ${height}x${width} pixels), but ${tower}`);
  }
}

/** Height and width of the pixel_values the image processor outputs (a square for shortest_edge without a crop). */
function processedSize(pp: PreprocessorConfig): { height: number; width: number } {
  if (pp.doCenterCrop) return pp.cropSize;
  return pp.size.mode === 'exact' ? { height: pp.size.height, width: pp.size.width } : { height: pp.size.shortestEdge, width: pp.size.shortestEdge };
}
