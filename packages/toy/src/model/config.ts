// The demo LMM's architecture: a LLaVA-1.5-shaped model (CLIP vision tower, GELU MLP projector,
// Llama decoder) small enough to train on llvmpipe. `demoConfigJson` is its config.json, written
// with the same field names as the llava-hf hub files so the ordinary loader reads it.
import { parseLlavaConfig, type LlavaConfig } from '@mtv/model';
import { SPECIAL_TOKENS, TOY_TOKEN_IDS, TOY_VOCAB } from '../tasks/vocab.js';

export interface DemoArch {
  imageSize: number;
  patchSize: number;
  visionHidden: number;
  visionIntermediate: number;
  visionLayers: number;
  visionHeads: number;
  textHidden: number;
  textIntermediate: number;
  textLayers: number;
  textHeads: number;
  ropeTheta: number;
  /** TOY_VOCAB padded up to a multiple of 16. */
  vocabSize: number;
}

export const DEMO_ARCH: DemoArch = {
  imageSize: 16,
  patchSize: 8,
  visionHidden: 64,
  visionIntermediate: 128,
  visionLayers: 2,
  visionHeads: 4,
  textHidden: 64,
  textIntermediate: 160,
  textLayers: 4,
  textHeads: 4,
  ropeTheta: 10000,
  vocabSize: Math.ceil(TOY_VOCAB.length / 16) * 16,
};

/** A smaller architecture for tests (same code paths). */
export const TINY_TRAIN_ARCH: DemoArch = {
  imageSize: 16,
  patchSize: 8,
  visionHidden: 16,
  visionIntermediate: 24,
  visionLayers: 1,
  visionHeads: 2,
  textHidden: 16,
  textIntermediate: 24,
  textLayers: 2,
  textHeads: 2,
  ropeTheta: 10000,
  vocabSize: Math.ceil(TOY_VOCAB.length / 16) * 16,
};

/** config.json of the demo model (LlavaForConditionalGeneration, CLIP + Llama, untied lm_head). */
export function demoConfigJson(a: DemoArch = DEMO_ARCH): Record<string, unknown> {
  return {
    architectures: ['LlavaForConditionalGeneration'],
    model_type: 'llava',
    ignore_index: -100,
    image_token_index: TOY_TOKEN_IDS.image,
    pad_token_id: TOY_TOKEN_IDS.pad,
    projector_hidden_act: 'gelu',
    vision_feature_layer: -1,
    vision_feature_select_strategy: 'default',
    image_seq_length: (a.imageSize / a.patchSize) ** 2,
    tie_word_embeddings: false,
    torch_dtype: 'float32',
    vision_config: {
      model_type: 'clip_vision_model',
      hidden_act: 'quick_gelu',
      hidden_size: a.visionHidden,
      intermediate_size: a.visionIntermediate,
      num_hidden_layers: a.visionLayers,
      num_attention_heads: a.visionHeads,
      image_size: a.imageSize,
      patch_size: a.patchSize,
      projection_dim: a.visionHidden,
      layer_norm_eps: 1e-5,
    },
    text_config: {
      model_type: 'llama',
      architectures: ['LlamaForCausalLM'],
      hidden_size: a.textHidden,
      intermediate_size: a.textIntermediate,
      num_hidden_layers: a.textLayers,
      num_attention_heads: a.textHeads,
      num_key_value_heads: a.textHeads,
      hidden_act: 'silu',
      max_position_embeddings: 512,
      rms_norm_eps: 1e-5,
      rope_theta: a.ropeTheta,
      vocab_size: a.vocabSize,
      tie_word_embeddings: false,
      bos_token_id: TOY_TOKEN_IDS.bos,
      eos_token_id: TOY_TOKEN_IDS.eos,
      pad_token_id: TOY_TOKEN_IDS.pad,
      torch_dtype: 'float32',
    },
  };
}

export function demoLlavaConfig(a: DemoArch = DEMO_ARCH): LlavaConfig {
  return parseLlavaConfig(demoConfigJson(a), 'demoConfigJson');
}

/** The special tokens of the demo tokenizer, in id order (they are TOY_VOCAB's first entries). */
export const DEMO_SPECIALS = SPECIAL_TOKENS;
