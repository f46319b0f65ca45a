// LlavaNextProcessor and LlavaOnevisionProcessor (processing_llava_next.py, processing_llava_onevision.py;
// VLM_FAMILIES.md 3.6): each `<image>` of the text becomes N copies of `<image>`, N computed per image
// exactly as the processor does (the model then scatters one feature row into each), and the expanded
// text is tokenised whole.
//
// LLaVA-NeXT, for an image of (h, w), crops of `height x width` pixels (pixel_values[0][0]) and
// processor_config.json's patch_size / num_additional_image_tokens / vision_feature_select_strategy:
//   (H, W) = select_best_resolution((h, w), pinpoints); scale = (H // height, W // width)
//   ph = height // patch_size, pw = width // patch_size; grid = (ph * scale_h, pw * scale_w)
//   unpad the grid to the image's aspect (int(round(., 7)), the padding taken off both sides)
//   N = rows * cols + rows (one newline per row) + ph * pw + num_additional_image_tokens, minus 1 for 'default'.
// LLaVA-OneVision: the same with ph = pw = int(sqrt(num_image_tokens)) and a base of num_image_tokens;
// when ratio = sqrt(rows * cols / (max_num_patches * ph^2)) > 1.1 the grid counts as
// int(rows // ratio) x int(cols // ratio) (the model's bilinear pooling), with int(rows // ratio)
// newlines. A prompt with several images is one sample with batch_num_images > 1 (how
// apply_chat_template and processor(images=[[a, b]]) pass them): each image is then one padded view,
// num_image_tokens + 1 tokens (one newline), minus 1 for 'default'. The 'separate' mode treats them as
// processor(images=[a, b]) does, every image tiled on its own.
import { join } from 'node:path';
import { ConfigError, Fields } from '../../config/fields.js';
import { readConfigObject } from '../../config/read.js';
import { decodeImage, maxImagePixels } from '../../image/decode.js';
import type { RgbImage } from '../../image/types.js';
import { PromptError } from '../../prompt/errors.js';
import { TokenizerError } from '../../tokenizer/errors.js';
import { requireTokenId } from '../../tokenizer/require-token.js';
import type { TextTokenizer } from '../../tokenizer/tokenizer.js';
import type { PreparedPrompt, Processor, PromptInput } from '../types.js';
import { anyresLayout, pyFloorDiv, pyIntRound7, selectBestResolution } from './anyres.js';
import { maxNumPatchesOf, LLAVA_ONEVISION_DEFAULT_ASPECT_RATIO, type LlavaNextConfig } from './config.js';
import { anyresPixelNeed, loadAnyresImageProcessorConfig, preprocessAnyres, processedCropSize, type AnyresImageProcessorConfig } from './image-processor.js';

export const LLAVA_NEXT_IMAGE_TOKEN = '<image>';

/** What the processor's token count reads (processor_config.json, preprocessor_config.json). */
export interface AnyresTokenRule {
  kind: 'llava_next' | 'llava_onevision';
  pinpoints: ReadonlyArray<readonly [number, number]>;
  /** pixel_values[0][0]'s height and width: the processed crop. */
  height: number;
  width: number;
  strategy: 'default' | 'full';
  /** NeXT: processor patch_size and num_additional_image_tokens. */
  patchSize: number;
  numAdditionalImageTokens: number;
  /** OneVision: num_image_tokens and the crop budget of its vision_aspect_ratio. */
  numImageTokens: number;
  maxNumPatches: number;
}

/** _get_unpadded_features: (unpadded features, newline features); OneVision's pools above its budget (maxNumPatches null: NeXT). */
export function unpaddedFeatures(height: number, width: number, ph: number, pw: number, scaleH: number, scaleW: number, maxNumPatches: number | null): [number, number] {
  let curH = ph * scaleH;
  let curW = pw * scaleW;
  const originalAspect = width / height;
  const currentAspect = curW / curH;
  if (originalAspect > currentAspect) {
    const newH = pyIntRound7(height * (curW / width));
    curH -= Math.floor((curH - newH) / 2) * 2;
  } else {
    const newW = pyIntRound7(width * (curH / height));
    curW -= Math.floor((curW - newW) / 2) * 2;
  }
  let unpadded = curH * curW;
  let newline = curH;
  if (maxNumPatches !== null) {
    const ratio = Math.sqrt((curH * curW) / (maxNumPatches * ph ** 2));
    if (ratio > 1.1) {
      unpadded = pyFloorDiv(curH, ratio) * pyFloorDiv(curW, ratio);
      newline = pyFloorDiv(curH, ratio);
    }
  }
  return [unpadded, newline];
}

/** The `<image>` tokens one image expands to, as the processor computes it; `multiImage` is OneVision's batch_num_images > 1. */
export function anyresImageTokens(origHeight: number, origWidth: number, r: AnyresTokenRule, multiImage = false): number {
  let n: number;
  if (r.kind === 'llava_onevision' && multiImage) {
    n = r.numImageTokens + 1; // one for image_newline
  } else {
    const [bh, bw] = selectBestResolution(origHeight, origWidth, r.pinpoints);
    const scaleH = Math.floor(bh / r.height);
    const scaleW = Math.floor(bw / r.width);
    if (r.kind === 'llava_next') {
      const ph = Math.floor(r.height / r.patchSize);
      const pw = Math.floor(r.width / r.patchSize);
      const [unpadded, newline] = unpaddedFeatures(origHeight, origWidth, ph, pw, scaleH, scaleW, null);
      n = unpadded + newline + ph * pw + r.numAdditionalImageTokens;
    } else {
      const p = Math.trunc(Math.sqrt(r.numImageTokens));
      const [unpadded, newline] = unpaddedFeatures(origHeight, origWidth, p, p, scaleH, scaleW, r.maxNumPatches);
      n = unpadded + newline + r.numImageTokens;
    }
  }
  return r.strategy === 'default' ? n - 1 : n;
}

/** The k-th `<image>` of the text replaced by counts[k] copies. */
export function expandAnyresText(text: string, counts: readonly number[]): string {
  const parts = text.split(LLAVA_NEXT_IMAGE_TOKEN);
  if (parts.length - 1 !== counts.length) {
    throw new PromptError(`the prompt has ${parts.length - 1} '${LLAVA_NEXT_IMAGE_TOKEN}' placeholder(s) but ${counts.length} image(s) were supplied; each image needs exactly one placeholder`);
  }
  let out = parts[0]!;
  counts.forEach((n, i) => {
    out += LLAVA_NEXT_IMAGE_TOKEN.repeat(n) + parts[i + 1]!;
  });
  return out;
}

/** How a OneVision prompt's several images are processed (see the header). */
export type OnevisionImages = 'sample' | 'separate';

export class LlavaNextProcessor implements Processor {
  readonly imageTokenId: number;

  constructor(
    readonly config: LlavaNextConfig,
    readonly tokenizer: TextTokenizer,
    readonly imageProcessor: AnyresImageProcessorConfig,
    readonly rule: AnyresTokenRule,
    readonly onevisionImages: OnevisionImages = 'sample',
  ) {
    this.imageTokenId = requireTokenId(tokenizer, LLAVA_NEXT_IMAGE_TOKEN, `the ${config.family} processor (image placeholders)`);
    if (this.imageTokenId !== config.imageTokenIndex) {
      const key = config.family === 'llava_next' ? 'image_token_index' : 'image_token_index (or image_token_id)';
      throw new TokenizerError(tokenizer.source, `tokenizer.json has '${LLAVA_NEXT_IMAGE_TOKEN}' as id ${this.imageTokenId}, but config.json ${key} is ${config.imageTokenIndex}`);
    }
  }

  /** Refused from the header above this ($MTV_MAX_IMAGE_PIXELS, else what the processor can use). */
  get pixelLimit(): number {
    return maxImagePixels(undefined, anyresPixelNeed(this.imageProcessor));
  }

  /** True when these images are processed as OneVision's multi-image sample (one view each). */
  multiImage(count: number): boolean {
    return this.config.family === 'llava_onevision' && this.onevisionImages === 'sample' && count > 1;
  }

  async prepare(input: PromptInput): Promise<PreparedPrompt> {
    const sources = input.images ?? [];
    const images: RgbImage[] = [];
    for (const src of sources) images.push(typeof src === 'string' || src instanceof Uint8Array ? await decodeImage(src, { processorLimit: this.pixelLimit }) : src);
    const multi = this.multiImage(images.length);
    const counts = images.map((im) => anyresImageTokens(im.height, im.width, this.rule, multi));
    const text = expandAnyresText(input.text, counts);
    const pixels = images.length > 0 ? preprocessAnyres(images, this.imageProcessor, multi) : null;
    // The model's feature rows per image (pack_image_features) must be the processor's count.
    const c = this.config;
    pixels?.images.forEach((im, i) => {
      const rows = anyresLayout(im, { pinpoints: c.imageGridPinpoints, imageSize: c.vision.imageSize, gridSide: c.gridSide, maxNumPatches: c.maxNumPatches }).count;
      if (rows !== counts[i]) {
        throw new PromptError(`image ${i} (${im.width}x${im.height}): the processor expands it to ${counts[i]} image tokens but the model makes ${rows} feature rows from it; processor_config.json / preprocessor_config.json disagree with config.json`);
      }
    });
    const ids = this.tokenizer.encode(text, { addSpecialTokens: input.addSpecialTokens ?? true });
    const expected = counts.reduce((a, b) => a + b, 0);
    const found = ids.reduce((n, id) => n + (id === this.imageTokenId ? 1 : 0), 0);
    if (found !== expected) {
      throw new PromptError(
        `the tokenizer produced ${found} id(s) ${this.imageTokenId} ('${LLAVA_NEXT_IMAGE_TOKEN}') where the images need ${expected}; ` +
          `the text must not contain '${LLAVA_NEXT_IMAGE_TOKEN}' other than as the image placeholders`,
      );
    }
    const imagePositions: number[][] = counts.map(() => []);
    let k = 0;
    ids.forEach((id, pos) => {
      if (id !== this.imageTokenId) return;
      while (imagePositions[k]!.length === counts[k]) k++;
      imagePositions[k]!.push(pos);
    });
    return { ids: Int32Array.from(ids), imagePositions, pixels };
  }
}


const samePinpoints = (a: ReadonlyArray<readonly [number, number]>, b: ReadonlyArray<readonly [number, number]>): boolean =>
  a.length === b.length && a.every(([h, w], i) => h === b[i]![0] && w === b[i]![1]);

/**
 * The token rule of a model directory, checked against config.json: the processor's crops, pinpoints,
 * per-crop count and crop budget must be the model's, or its prompts would hold a different number
 * of image tokens than the model makes feature rows (transformers then raises at the forward).
 */
export function anyresTokenRule(config: LlavaNextConfig, ip: AnyresImageProcessorConfig, proc: Record<string, unknown> | null, procFile: string): AnyresTokenRule {
  const S = config.vision.imageSize;
  const [ch, cw] = processedCropSize(ip);
  if (ch !== S || cw !== S) {
    throw new ConfigError(ip.source, ip.doCenterCrop ? 'crop_size' : 'size', `crops preprocess to ${cw}x${ch} pixels, but config.json's vision tower takes ${S}x${S} (vision_config.image_size)`);
  }
  if (ip.tile !== S) throw new ConfigError(ip.source, ip.kind === 'llava_next' ? 'crop_size' : 'size', `crops are cut ${ip.tile} pixels wide, but the model lays its grid out in cells of vision_config.image_size ${S}`);
  if (!samePinpoints(ip.imageGridPinpoints, config.imageGridPinpoints)) {
    throw new ConfigError(ip.source, 'image_grid_pinpoints', `${JSON.stringify(ip.imageGridPinpoints)} differ from config.json's ${JSON.stringify(config.imageGridPinpoints)}: the processor and the model would cut different grids`);
  }
  const f = new Fields(procFile, proc ?? {});
  const strategy = f.has('vision_feature_select_strategy') ? f.oneOf<'default' | 'full'>('vision_feature_select_strategy', 'default', ['default', 'full']) : config.visionFeatureSelectStrategy;
  if (strategy !== config.visionFeatureSelectStrategy) {
    f.fail('vision_feature_select_strategy', `'${strategy}' differs from config.json's '${config.visionFeatureSelectStrategy}': the image-token count would be off by one`);
  }
  const t = config.gridSide;
  const rule: AnyresTokenRule = {
    kind: config.family, pinpoints: ip.imageGridPinpoints, height: ch, width: cw, strategy,
    patchSize: config.vision.patchSize, numAdditionalImageTokens: config.vision.classToken ? 1 : 0,
    numImageTokens: t * t, maxNumPatches: config.maxNumPatches ?? 0,
  };
  // Without the fields, older processors left the expansion to the model: the model's own numbers.
  if (config.family === 'llava_next') {
    rule.patchSize = f.has('patch_size') ? f.positive('patch_size', 1) : rule.patchSize;
    rule.numAdditionalImageTokens = f.has('patch_size') ? f.int('num_additional_image_tokens', 0) : rule.numAdditionalImageTokens;
    const p = Math.floor(S / rule.patchSize);
    if (p !== t) f.fail('patch_size', `${rule.patchSize} gives ${p} x ${p} features per crop (${S} // ${rule.patchSize}), but the tower gives ${t} x ${t} (config.json patch_size ${config.vision.patchSize})`);
    const base = p * p + rule.numAdditionalImageTokens - (strategy === 'default' ? 1 : 0);
    if (base !== config.tokensPerCrop) {
      f.fail('num_additional_image_tokens', `${rule.numAdditionalImageTokens} makes the base crop ${base} tokens (${p}^2 + ${rule.numAdditionalImageTokens}${strategy === 'default' ? ' - 1' : ''}), but the tower gives ${config.tokensPerCrop} features per crop`);
    }
  } else {
    rule.numImageTokens = f.has('num_image_tokens') ? f.positive('num_image_tokens', 1) : rule.numImageTokens;
    const p = Math.trunc(Math.sqrt(rule.numImageTokens));
    const base = rule.numImageTokens - (strategy === 'default' ? 1 : 0);
    if (p !== t || base !== config.tokensPerCrop) {
      f.fail('num_image_tokens', `${rule.numImageTokens} (a ${p} x ${p} grid, ${base} base tokens) disagrees with the tower's ${t} x ${t} grid of ${config.tokensPerCrop} features per crop`);
    }
    const aspect = f.has('vision_aspect_ratio') ? f.str('vision_aspect_ratio', LLAVA_ONEVISION_DEFAULT_ASPECT_RATIO) : LLAVA_ONEVISION_DEFAULT_ASPECT_RATIO;
    rule.maxNumPatches = maxNumPatchesOf(f, 'vision_aspect_ratio', aspect);
    if (rule.maxNumPatches !== config.maxNumPatches) {
      f.fail('vision_aspect_ratio', `${JSON.stringify(aspect)}${f.has('vision_aspect_ratio') ? '' : " (LlavaOnevisionProcessor's default: the field is absent)"} budgets ${rule.maxNumPatches} crops, but config.json's vision_aspect_ratio ${JSON.stringify(config.visionAspectRatio)} budgets ${config.maxNumPatches}: pooled images would get a different token count`);
    }
  }
  return rule;
}

/** The processor of a model directory: preprocessor_config.json (required), processor_config.json (optional), the tokenizer. */
export async function loadLlavaNextProcessor(dir: string, config: LlavaNextConfig, tokenizer: TextTokenizer, opts: { onevisionImages?: OnevisionImages } = {}): Promise<LlavaNextProcessor> {
  const ip = await loadAnyresImageProcessorConfig(dir, config.family);
  const procFile = join(dir, 'processor_config.json');
  const rule = anyresTokenRule(config, ip, await readConfigObject(procFile, { optional: true }), procFile);
  return new LlavaNextProcessor(config, tokenizer, ip, rule, opts.onevisionImages ?? 'sample');
}
