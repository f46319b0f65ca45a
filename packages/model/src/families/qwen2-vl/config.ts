// config.json of Qwen2VLForConditionalGeneration (model_type "qwen2_vl": Qwen2-VL-2B/7B-Instruct) and
// Qwen2_5_VLForConditionalGeneration ("qwen2_5_vl": Qwen2.5-VL-3B/7B-Instruct) -> Qwen2VLConfig, with
// the defaults of transformers' Qwen2VLConfig / Qwen2VLVisionConfig and Qwen2_5_VLConfig /
// Qwen2_5_VLVisionConfig (VLM_FAMILIES.md 4.1).
//
// Text fields sit at the top level (the published configs) or, in newer exports, under text_config;
// both are read with the Qwen2 decoder defaults of Qwen2VLConfig (vocab 152064, hidden 8192, 80 layers,
// 64 heads, 8 kv heads, rms 1e-5, rope_theta 1e6). rope_scaling {type: "mrope", mrope_section} is
// required: the decoder applies multimodal RoPE (rope type "mrope" is plain RoPE maths, as
// Qwen2VLConfig rewrites it to "default").
//
// Vision, Qwen2-VL: embed_dim is the tower width, hidden_size the merger's output (the text width),
// mlp_ratio * embed_dim the fc1 width, LayerNorm + quick_gelu MLP. Qwen2.5-VL: hidden_size is the
// tower width, out_hidden_size the merger's output, intermediate_size the SwiGLU width, RMSNorm,
// window attention except in fullatt_block_indexes. `in_chans` and `spatial_patch_size` of the hub
// configs are aliases the classes ignore (they read in_channels and patch_size); in_chans is only
// checked against in_channels.
//
// Refused by name: video (the processor takes images only; nothing here configures video), a
// sliding window (use_sliding_window), rope types other than mrope/default, a merge size that does not
// divide the Qwen2.5 window, and any vision input other than 3 channels.
import { ConfigError, Fields, isObject } from '../../config/fields.js';
import { parseTextConfig } from '../../config/text.js';
import { ACTIVATIONS, type Activation } from '../../config/types.js';
import type { ModelConfigBase } from '../types.js';

export const QWEN2_VL_MODEL_TYPES: readonly string[] = ['qwen2_vl', 'qwen2_5_vl'];
export const QWEN2_VL_ARCHITECTURES: readonly string[] = ['Qwen2VLForConditionalGeneration', 'Qwen2_5_VLForConditionalGeneration'];

export type Qwen2VLVariant = 'qwen2_vl' | 'qwen2_5_vl';

/** Qwen2VLConfig's text defaults (Qwen2-VL-7B-like; they differ from Qwen2Config's). */
const TEXT_DEFAULTS: Readonly<Record<string, unknown>> = {
  vocab_size: 152064,
  hidden_size: 8192,
  intermediate_size: 29568,
  num_hidden_layers: 80,
  num_attention_heads: 64,
  num_key_value_heads: 8,
  hidden_act: 'silu',
  max_position_embeddings: 32768,
  rms_norm_eps: 1e-5,
  rope_theta: 1000000.0,
  tie_word_embeddings: false,
};

export interface Qwen2VLVisionConfig {
  variant: Qwen2VLVariant;
  /** Blocks (depth). */
  depth: number;
  /** Tower width: Qwen2-VL embed_dim, Qwen2.5-VL hidden_size. */
  hiddenSize: number;
  numHeads: number;
  headDim: number;
  /** MLP width: Qwen2-VL embed_dim * mlp_ratio (fc1), Qwen2.5-VL intermediate_size (gate/up). */
  intermediateSize: number;
  hiddenAct: Activation;
  inChannels: number;
  patchSize: number;
  temporalPatchSize: number;
  spatialMergeSize: number;
  /** The merger's output width (the text hidden size): Qwen2-VL hidden_size, Qwen2.5-VL out_hidden_size. */
  outHiddenSize: number;
  /** Qwen2.5-VL: window side in pixels (window_size) and in merged tokens (window_size / merge / patch). */
  windowSize: number | null;
  mergerWindow: number | null;
  /** Qwen2.5-VL: blocks with attention over the whole image; the others attend within windows. */
  fullAttBlockIndexes: readonly number[];
  /** Every norm's epsilon (fixed at 1e-6 in the modeling code). */
  normEps: number;
  /** Qwen2-VL LayerNorm + fc1/act/fc2; Qwen2.5-VL RMSNorm + SwiGLU with biases. */
  norm: 'layernorm' | 'rmsnorm';
  mlp: 'fc' | 'swiglu';
}

export interface Qwen2VLConfig extends ModelConfigBase {
  family: 'qwen2_vl';
  variant: Qwen2VLVariant;
  vision: Qwen2VLVisionConfig;
  /** <|vision_start|>: get_rope_index finds each image through the token after it. */
  visionStartTokenId: number;
  videoTokenId: number;
}

function parseVision(variant: Qwen2VLVariant, f: Fields): Qwen2VLVisionConfig {
  const q25 = variant === 'qwen2_5_vl';
  const hiddenSize = q25 ? f.positive('hidden_size', 3584) : f.positive('embed_dim', 1280);
  const numHeads = f.positive('num_heads', 16);
  if (hiddenSize % numHeads !== 0) f.fail('num_heads', `the tower width ${hiddenSize} is not divisible by ${numHeads} heads`);
  const headDim = hiddenSize / numHeads;
  // the 2-D rotary splits head_dim / 2 into row and column halves of head_dim / 4 frequencies each
  if (headDim % 4 !== 0) f.fail('num_heads', `head_dim ${headDim} (width ${hiddenSize} / ${numHeads} heads) must be a multiple of 4 for the 2-D rotary embedding`);
  const inChannels = f.positive('in_channels', 3);
  if (f.has('in_chans') && f.positive('in_chans', 3) !== inChannels) f.fail('in_chans', `${JSON.stringify(f.obj['in_chans'])} disagrees with in_channels ${inChannels} (transformers reads in_channels)`);
  if (inChannels !== 3) f.fail('in_channels', `${inChannels} input channels are not supported (images are RGB)`);
  const spatialMergeSize = f.positive('spatial_merge_size', 2);
  const patchSize = f.positive('patch_size', 14);
  const depth = f.positive('depth', 32);
  let windowSize: number | null = null;
  let mergerWindow: number | null = null;
  let fullAttBlockIndexes: number[] = [];
  if (q25) {
    windowSize = f.positive('window_size', 112);
    mergerWindow = Math.floor(windowSize / spatialMergeSize / patchSize);
    if (mergerWindow < 1) f.fail('window_size', `${windowSize} px is smaller than one merged token (${spatialMergeSize} x ${patchSize} px)`);
    const raw = f.obj['fullatt_block_indexes'] ?? [7, 15, 23, 31];
    if (!Array.isArray(raw) || !raw.every((x) => typeof x === 'number' && Number.isInteger(x) && x >= 0)) f.fail('fullatt_block_indexes', `expected a list of block indices, got ${JSON.stringify(raw)}`);
    fullAttBlockIndexes = raw as number[];
  }
  const intermediateSize = q25 ? f.positive('intermediate_size', 3420) : hiddenSize * f.positive('mlp_ratio', 4);
  return {
    variant,
    depth,
    hiddenSize,
    numHeads,
    headDim,
    intermediateSize,
    hiddenAct: f.oneOf('hidden_act', q25 ? 'silu' : 'quick_gelu', ACTIVATIONS),
    inChannels,
    patchSize,
    temporalPatchSize: f.positive('temporal_patch_size', 2),
    spatialMergeSize,
    outHiddenSize: q25 ? f.positive('out_hidden_size', 3584) : f.positive('hidden_size', 3584),
    windowSize,
    mergerWindow,
    fullAttBlockIndexes,
    normEps: 1e-6,
    norm: q25 ? 'rmsnorm' : 'layernorm',
    mlp: q25 ? 'swiglu' : 'fc',
  };
}

/** Parses a Qwen2-VL or Qwen2.5-VL config.json object; `file` names it in errors. */
export function parseQwen2VLConfig(json: unknown, file = 'config.json'): Qwen2VLConfig {
  if (!isObject(json)) throw new ConfigError(file, '(root)', `expected a JSON object, got ${Array.isArray(json) ? 'an array' : JSON.stringify(json)}`);
  const f = new Fields(file, json);
  let variant: Qwen2VLVariant;
  const arch = json['architectures'];
  if (f.has('model_type')) {
    const t = f.str('model_type', '');
    if (!QWEN2_VL_MODEL_TYPES.includes(t)) f.fail('model_type', `unsupported model type ${JSON.stringify(t)} (supported: ${QWEN2_VL_MODEL_TYPES.join(', ')})`);
    variant = t as Qwen2VLVariant;
  } else if (Array.isArray(arch) && arch.includes('Qwen2_5_VLForConditionalGeneration')) variant = 'qwen2_5_vl';
  else variant = 'qwen2_vl';
  if (arch !== undefined && arch !== null) {
    if (!Array.isArray(arch) || !arch.some((a) => QWEN2_VL_ARCHITECTURES.includes(String(a)))) {
      f.fail('architectures', `unsupported architecture ${JSON.stringify(arch)} (supported: ${QWEN2_VL_ARCHITECTURES.join(', ')})`);
    }
  }

  const rawVision = f.sub('vision_config') ?? new Fields(file, {}, 'vision_config.');
  const vision = parseVision(variant, rawVision);

  // Text: text_config when present (newer exports), else the top level, Qwen2 with Qwen2VLConfig's defaults.
  const rawText = f.sub('text_config');
  const src = rawText ?? f;
  const textObj = { ...TEXT_DEFAULTS, ...src.obj, model_type: 'qwen2' };
  const { tie: textTie, ...text } = parseTextConfig(new Fields(file, textObj, src.prefix), ['qwen2'], 'qwen2', { mrope: true });
  if (!text.rope.mropeSection) {
    (src.sub('rope_scaling') ?? src).fail('mrope_section', 'Qwen2-VL needs rope_scaling.mrope_section (multimodal RoPE sections); none is given');
  }
  if (vision.outHiddenSize !== text.hiddenSize) {
    rawVision.fail(variant === 'qwen2_5_vl' ? 'out_hidden_size' : 'hidden_size', `the merger outputs ${vision.outHiddenSize} features but the language model's hidden_size is ${text.hiddenSize}`);
  }

  const tokenId = (key: string, fallback: number): number => {
    const v = f.has(key) ? f.int(key, fallback) : rawText?.has(key) ? rawText.int(key, fallback) : fallback;
    if (v >= text.vocabSize) f.fail(key, `${v} is outside the language model's vocabulary (vocab_size ${text.vocabSize})`);
    return v;
  };
  const imageTokenIndex = tokenId('image_token_id', 151655);
  const visionStartTokenId = tokenId('vision_start_token_id', 151652);
  const videoTokenId = f.has('video_token_id') ? f.int('video_token_id', 151656) : 151656;
  const tieWordEmbeddings = f.has('tie_word_embeddings') ? f.bool('tie_word_embeddings', false) : textTie;
  return { family: 'qwen2_vl', variant, vision, text, imageTokenIndex, tieWordEmbeddings, visionStartTokenId, videoTokenId };
}
