// config.json of LlavaNextForConditionalGeneration (model_type "llava_next": llava-v1.6-mistral /
// vicuna / 34b, llama3-llava-next) and LlavaOnevisionForConditionalGeneration ("llava_onevision":
// llava-onevision-qwen2-0.5b/7b/72b-{si,ov}) -> LlavaNextConfig, with the defaults transformers fills
// in (LlavaNextConfig, LlavaOnevisionConfig, CLIPVisionConfig / SiglipVisionConfig, LlamaConfig /
// MistralConfig / Qwen2Config; VLM_FAMILIES.md 3.1).
//
// Both are a LLaVA tower + projector run on every anyres crop, then packed (modeling_llava_next.py
// pack_image_features, modeling_llava_onevision.py): the crop features laid out as one grid, unpadded
// to the image's aspect, OneVision's bilinear down-pooling above vision_aspect_ratio's crop budget,
// image_newline after every row, the base crop's features first.
//
// Refused by name rather than ignored: a vision_feature_layer list (the concatenated layers widen
// linear_1), a strategy that leaves a crop's tokens off the square grid transformers views them as
// (CLIP with "full": 577 tokens), a vision_aspect_ratio whose budget is not a positive integer, empty or
// malformed image_grid_pinpoints. Video inputs (OneVision's pixel_values_videos) are out of scope: the
// config's video_token_index is kept for reference only.
import { ConfigError, Fields, isObject } from '../../config/fields.js';
import { parseTextConfig } from '../../config/text.js';
import { ACTIVATIONS, type Activation, type TextModelType, type VisionConfig, type VisionModelType } from '../../config/types.js';
import { parseVisionConfig } from '../../config/vision.js';
import type { LlavaConfig } from '../llava/config.js';
import type { ModelConfigBase } from '../types.js';

export type LlavaNextModelType = 'llava_next' | 'llava_onevision';

export const LLAVA_NEXT_MODEL_TYPES: readonly string[] = ['llava_next'];
export const LLAVA_NEXT_ARCHITECTURES: readonly string[] = ['LlavaNextForConditionalGeneration'];
export const LLAVA_ONEVISION_MODEL_TYPES: readonly string[] = ['llava_onevision'];
export const LLAVA_ONEVISION_ARCHITECTURES: readonly string[] = ['LlavaOnevisionForConditionalGeneration'];

/** LlavaNextConfig's image_grid_pinpoints default, (height, width) each. */
export const LLAVA_NEXT_DEFAULT_PINPOINTS: ReadonlyArray<readonly [number, number]> = [[336, 672], [672, 336], [672, 672], [1008, 336], [336, 1008]];

/** LlavaOnevisionConfig's default: every (h, w) in {384, 768, ..., 2304}^2, h-major. */
export const LLAVA_ONEVISION_DEFAULT_PINPOINTS: ReadonlyArray<readonly [number, number]> = Array.from({ length: 36 }, (_, i) => [384 * (Math.floor(i / 6) + 1), 384 * ((i % 6) + 1)] as const);

export const LLAVA_ONEVISION_DEFAULT_ASPECT_RATIO = 'anyres_max_9';

interface ModelTypeDefaults {
  vision: VisionModelType;
  text: TextModelType;
  imageToken: number;
  featureLayer: number;
  strategy: 'default' | 'full';
  pinpoints: ReadonlyArray<readonly [number, number]>;
  architectures: readonly string[];
}

const DEFAULTS: Record<LlavaNextModelType, ModelTypeDefaults> = {
  llava_next: { vision: 'clip_vision_model', text: 'llama', imageToken: 32000, featureLayer: -2, strategy: 'default', pinpoints: LLAVA_NEXT_DEFAULT_PINPOINTS, architectures: LLAVA_NEXT_ARCHITECTURES },
  llava_onevision: { vision: 'siglip_vision_model', text: 'qwen2', imageToken: 151646, featureLayer: -1, strategy: 'full', pinpoints: LLAVA_ONEVISION_DEFAULT_PINPOINTS, architectures: LLAVA_ONEVISION_ARCHITECTURES },
};

/** The tower both config classes build when vision_config is absent (CLIP for NeXT, SigLIP for OneVision, same sizes). */
const DEFAULT_VISION = { intermediate_size: 4096, hidden_size: 1024, patch_size: 14, image_size: 336, num_hidden_layers: 24, num_attention_heads: 16 };

const TEXT_MODEL_TYPES: readonly TextModelType[] = ['llama', 'mistral', 'qwen2'];

export interface LlavaNextConfig extends ModelConfigBase {
  family: LlavaNextModelType;
  vision: VisionConfig;
  projectorHiddenAct: Activation;
  projectorBias: boolean;
  /** As written in config.json (may be negative). */
  visionFeatureLayer: number;
  /** Index into the vision hidden_states tuple (0 = embeddings output); also the number of layers run. */
  visionHiddenStateIndex: number;
  visionFeatureSelectStrategy: 'default' | 'full';
  /** image_size // patch_size: the side t of one crop's feature grid. */
  gridSide: number;
  /** Features per crop after the select strategy: t * t (required: transformers views them as a t x t grid). */
  tokensPerCrop: number;
  /** The (height, width) resolutions an image is resized and padded to before it is cut into crops; multiples of image_size. */
  imageGridPinpoints: Array<[number, number]>;
  /** OneVision's vision_aspect_ratio as written (default "anyres_max_9"); null for LLaVA-NeXT, which never pools. */
  visionAspectRatio: string | null;
  /** OneVision: max_num_patches = int(vision_aspect_ratio.strip("anyres_max_")); null for LLaVA-NeXT. */
  maxNumPatches: number | null;
  /** OneVision's video_token_index (video inputs are not supported; kept for reference), else null. */
  videoTokenIndex: number | null;
}

/** Python's str.strip(chars): removes any of `chars` from both ends (characters, not a prefix). */
export function pyStrip(s: string, chars: string): string {
  let a = 0;
  let b = s.length;
  while (a < b && chars.includes(s[a]!)) a++;
  while (b > a && chars.includes(s[b - 1]!)) b--;
  return s.slice(a, b);
}

/** Python int(s) of a decimal string (surrounding whitespace, a sign and digit-separating underscores allowed), or null where it raises. */
export function pyInt(s: string): number | null {
  const t = s.trim();
  if (!/^[+-]?\d+(_\d+)*$/.test(t)) return null;
  const n = Number(t.replace(/_/g, ''));
  return Number.isSafeInteger(n) ? n : null;
}

/** max_num_patches of a vision_aspect_ratio, as pack_image_features computes it; refused where Python would raise or divide by zero. */
export function maxNumPatchesOf(f: Fields, key: string, value: string): number {
  const stripped = pyStrip(value, 'anyres_max_');
  const n = pyInt(stripped);
  if (n === null) f.fail(key, `${JSON.stringify(value)}: transformers reads the crop budget as int(${JSON.stringify(value)}.strip("anyres_max_")) = int(${JSON.stringify(stripped)}), which is not an integer (expected e.g. "anyres_max_9")`);
  if (n < 1) f.fail(key, `${JSON.stringify(value)} gives a crop budget of ${n}; it must be a positive integer`);
  return n;
}

/** image_grid_pinpoints: a non-empty list of [height, width] positive integers. */
export function parsePinpoints(f: Fields, key: string, dflt: ReadonlyArray<readonly [number, number]>): Array<[number, number]> {
  const v = f.obj[key];
  if (v === undefined || v === null) return dflt.map(([h, w]) => [h, w]);
  const ok = (x: unknown): x is number => typeof x === 'number' && Number.isSafeInteger(x) && x > 0;
  if (!Array.isArray(v) || v.length === 0 || !v.every((p) => Array.isArray(p) && p.length === 2 && ok(p[0]) && ok(p[1]))) {
    f.fail(key, `expected a non-empty list of [height, width] positive integers, got ${JSON.stringify(v)}`);
  }
  return (v as [number, number][]).map(([h, w]) => [h, w]);
}

function parseModelType(json: Record<string, unknown>, f: Fields, expected?: LlavaNextModelType): LlavaNextModelType {
  const known = Object.keys(DEFAULTS) as LlavaNextModelType[];
  let type: LlavaNextModelType | undefined;
  if (f.has('model_type')) {
    const t = f.str('model_type', '');
    if (!(known as string[]).includes(t)) f.fail('model_type', `unsupported model type ${JSON.stringify(t)} (supported: ${known.join(', ')})`);
    type = t as LlavaNextModelType;
  }
  const arch = json['architectures'];
  if (arch !== undefined && arch !== null) {
    if (!Array.isArray(arch)) f.fail('architectures', `expected a list, got ${JSON.stringify(arch)}`);
    const byArch = known.find((k) => arch.some((a) => DEFAULTS[k].architectures.includes(String(a))));
    if (!byArch || (type !== undefined && byArch !== type)) {
      const want = type ?? expected;
      const names = want ? DEFAULTS[want].architectures : known.flatMap((k) => DEFAULTS[k].architectures);
      f.fail('architectures', `unsupported architecture ${JSON.stringify(arch)}${type ? ` for model_type ${JSON.stringify(type)}` : ''} (supported: ${names.join(', ')})`);
    }
    type ??= byArch;
  }
  type ??= expected;
  if (!type) f.fail('model_type', `missing: give "llava_next" or "llava_onevision"`);
  if (expected && type !== expected) f.fail('model_type', `${JSON.stringify(type)} is not ${JSON.stringify(expected)}`);
  return type;
}

/**
 * Parses a LLaVA-NeXT or LLaVA-OneVision config.json object; `file` names it in errors. `expected`
 * pins the model type (each family object parses its own), else it is read from model_type / architectures.
 */
export function parseLlavaNextConfig(json: unknown, file = 'config.json', expected?: LlavaNextModelType): LlavaNextConfig {
  if (!isObject(json)) throw new ConfigError(file, '(root)', `expected a JSON object, got ${Array.isArray(json) ? 'an array' : JSON.stringify(json)}`);
  const f = new Fields(file, json);
  const type = parseModelType(json, f, expected);
  const d = DEFAULTS[type];
  const onevision = type === 'llava_onevision';

  // A vision_config dict without model_type is the class's default tower type (CLIP for NeXT, SigLIP for OneVision).
  const visionF = f.sub('vision_config');
  const vision = parseVisionConfig(visionF ?? new Fields(file, { ...DEFAULT_VISION, model_type: d.vision }, 'vision_config.'), d.vision === 'clip_vision_model' ? ['clip_vision_model', 'siglip_vision_model'] : ['siglip_vision_model', 'clip_vision_model']);
  const textF = f.sub('text_config');
  const { tie: textTie, ...text } = parseTextConfig(textF ?? new Fields(file, {}, 'text_config.'), TEXT_MODEL_TYPES, d.text);

  const vfl = json['vision_feature_layer'];
  if (Array.isArray(vfl)) {
    f.fail('vision_feature_layer', `a list of layers (${JSON.stringify(vfl)}) is not supported (transformers concatenates them, widening linear_1); give one integer`);
  }
  const visionFeatureLayer = f.int('vision_feature_layer', d.featureLayer, -Infinity);
  const nStates = vision.numLayers + 1; // hidden_states = embeddings output + one per layer
  if (visionFeatureLayer < -nStates || visionFeatureLayer >= nStates) {
    f.fail('vision_feature_layer', `${visionFeatureLayer} is outside the ${nStates} vision hidden states (-${nStates}..${nStates - 1})`);
  }
  const visionHiddenStateIndex = visionFeatureLayer < 0 ? nStates + visionFeatureLayer : visionFeatureLayer;
  const strategy = f.oneOf<'default' | 'full'>('vision_feature_select_strategy', d.strategy, ['default', 'full']);

  const gridSide = Math.floor(vision.imageSize / vision.patchSize);
  const tokensPerCrop = vision.numPositions - (strategy === 'default' ? 1 : 0);
  if (tokensPerCrop !== gridSide * gridSide) {
    f.fail('vision_feature_select_strategy', `'${strategy}' leaves ${tokensPerCrop} features per crop of the ${vision.modelType} tower (${vision.numPositions} positions), but transformers views a crop as a ${gridSide} x ${gridSide} grid (image_size ${vision.imageSize} // patch_size ${vision.patchSize}); use ${vision.classToken ? "'default' (drops the class token)" : "'full'"}`);
  }

  // image_token_id is the newer alias of image_token_index (as for LlavaConfig).
  const imageKey = f.has('image_token_id') && !f.has('image_token_index') ? 'image_token_id' : 'image_token_index';
  const imageTokenIndex = f.int(imageKey, d.imageToken);
  if (imageTokenIndex > text.vocabSize) {
    f.fail(imageKey, `${imageTokenIndex} is outside the language model's vocabulary (text_config.vocab_size ${text.vocabSize}: ids 0..${text.vocabSize - 1}, or ${text.vocabSize} for an image token appended after it)`);
  }
  const videoKey = f.has('video_token_id') && !f.has('video_token_index') ? 'video_token_id' : 'video_token_index';
  const videoTokenIndex = onevision ? f.int(videoKey, 151647) : null;

  let visionAspectRatio: string | null = null;
  let maxNumPatches: number | null = null;
  if (onevision) {
    visionAspectRatio = f.str('vision_aspect_ratio', LLAVA_ONEVISION_DEFAULT_ASPECT_RATIO);
    maxNumPatches = maxNumPatchesOf(f, 'vision_aspect_ratio', visionAspectRatio);
  }

  const imageGridPinpoints = parsePinpoints(f, 'image_grid_pinpoints', d.pinpoints);
  const S = vision.imageSize;
  const odd = imageGridPinpoints.find(([h, w]) => h % S !== 0 || w % S !== 0);
  if (odd) {
    // The processor cuts ceil(H / S) x ceil(W / S) crops but the model views floor(H / S) x floor(W / S): they disagree.
    f.fail('image_grid_pinpoints', `[${odd.join(', ')}] is not a multiple of vision_config.image_size ${S} on both sides; transformers would cut a crop count that the model cannot lay out as a grid`);
  }

  return {
    family: type,
    vision,
    text,
    imageTokenIndex,
    projectorHiddenAct: f.oneOf('projector_hidden_act', 'gelu', ACTIVATIONS),
    projectorBias: f.bool('multimodal_projector_bias', true),
    visionFeatureLayer,
    visionHiddenStateIndex,
    visionFeatureSelectStrategy: strategy,
    gridSide,
    tokensPerCrop,
    imageGridPinpoints,
    visionAspectRatio,
    maxNumPatches,
    videoTokenIndex,
    tieWordEmbeddings: f.bool('tie_word_embeddings', false) || textTie,
    defaulted: { text: textF === null, vision: visionF === null },
  };
}

export const parseLlavaNextOnlyConfig = (json: unknown, file?: string): LlavaNextConfig => parseLlavaNextConfig(json, file, 'llava_next');
export const parseLlavaOnevisionConfig = (json: unknown, file?: string): LlavaNextConfig => parseLlavaNextConfig(json, file, 'llava_onevision');

/**
 * The same tower + projector as a LlavaConfig, for the LLaVA tower code (families/llava: vision.ts,
 * reference.ts), which runs it on every crop: imageSeqLength is the features per crop.
 */
export function towerConfig(c: LlavaNextConfig): LlavaConfig {
  return {
    family: 'llava',
    vision: c.vision,
    text: c.text,
    imageTokenIndex: c.imageTokenIndex,
    tieWordEmbeddings: c.tieWordEmbeddings,
    projectorHiddenAct: c.projectorHiddenAct,
    projectorBias: c.projectorBias,
    visionFeatureLayer: c.visionFeatureLayer,
    visionHiddenStateIndex: c.visionHiddenStateIndex,
    visionFeatureSelectStrategy: c.visionFeatureSelectStrategy,
    imageSeqLength: c.tokensPerCrop,
    declaredImageSeqLength: null,
  };
}
