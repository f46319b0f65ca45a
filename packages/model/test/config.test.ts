import { describe, expect, it } from 'vitest';
import { ConfigError, parseLlavaConfig } from '../src/index.js';

// The llava-1.5-7b-hf config.json as published (transformers 4.39 era): text_config sets only five fields.
const LLAVA_15 = {
  architectures: ['LlavaForConditionalGeneration'],
  ignore_index: -100,
  image_token_index: 32000,
  model_type: 'llava',
  pad_token_id: 32001,
  projector_hidden_act: 'gelu',
  text_config: { _name_or_path: 'lmsys/vicuna-7b-v1.5', architectures: ['LlamaForCausalLM'], max_position_embeddings: 4096, model_type: 'llama', rms_norm_eps: 1e-5, torch_dtype: 'float16', vocab_size: 32064 },
  tie_word_embeddings: false,
  torch_dtype: 'float16',
  transformers_version: '4.36.0.dev0',
  vision_config: { hidden_size: 1024, image_size: 336, intermediate_size: 4096, model_type: 'clip_vision_model', num_attention_heads: 16, num_hidden_layers: 24, patch_size: 14, projection_dim: 768, vocab_size: 32000 },
  vision_feature_layer: -2,
  vision_feature_select_strategy: 'default',
  vocab_size: 32064,
};

// llava-interleave-qwen-0.5b-hf (transformers 4.43 era).
const INTERLEAVE = {
  architectures: ['LlavaForConditionalGeneration'],
  image_token_index: 151646,
  model_type: 'llava',
  projector_hidden_act: 'gelu',
  text_config: {
    architectures: ['Qwen2ForCausalLM'], bos_token_id: 151643, eos_token_id: 151645, hidden_size: 1024, intermediate_size: 2816, max_position_embeddings: 32768, max_window_layers: 21,
    model_type: 'qwen2', num_attention_heads: 16, num_hidden_layers: 24, num_key_value_heads: 16, rope_theta: 1000000.0, sliding_window: 32768, tie_word_embeddings: true, torch_dtype: 'bfloat16', use_sliding_window: false, vocab_size: 152000,
  },
  vision_config: { hidden_act: 'gelu_pytorch_tanh', hidden_size: 1152, image_size: 384, intermediate_size: 4304, layer_norm_eps: 1e-6, model_type: 'siglip_vision_model', num_attention_heads: 16, num_hidden_layers: 26, patch_size: 14, vision_use_head: false },
  vision_feature_layer: -1,
  vision_feature_select_strategy: 'full',
};

const clone = <T>(v: T): T => structuredClone(v);
const errorOf = (json: unknown): string => {
  try {
    parseLlavaConfig(json);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as Error).message;
  }
  throw new Error('expected parseLlavaConfig to throw');
};

describe('LLaVA config defaults', () => {
  it('llava-1.5-7b: LlamaConfig and CLIPVisionConfig defaults fill the gaps', () => {
    const c = parseLlavaConfig(LLAVA_15);
    expect(c.text).toEqual({
      modelType: 'llama', vocabSize: 32064, hiddenSize: 4096, intermediateSize: 11008, numLayers: 32, numHeads: 32, numKvHeads: 32, headDim: 128,
      hiddenAct: 'silu', rmsNormEps: 1e-5, rope: { theta: 10000, type: 'default', factor: 1 }, maxPositionEmbeddings: 4096,
      qkvBias: false, oBias: false, mlpBias: false, bosTokenId: 1, eosTokenId: 2, padTokenId: null, slidingWindow: null,
    });
    expect(c.vision).toMatchObject({ modelType: 'clip_vision_model', hiddenAct: 'quick_gelu', layerNormEps: 1e-5, numChannels: 3, headDim: 64, numPatches: 576, numPositions: 577, classToken: true, preLayerNorm: true, patchBias: false });
    expect(c).toMatchObject({ imageTokenIndex: 32000, projectorHiddenAct: 'gelu', projectorBias: true, visionFeatureLayer: -2, visionHiddenStateIndex: 23, visionFeatureSelectStrategy: 'default', imageSeqLength: 576, declaredImageSeqLength: null, tieWordEmbeddings: false });
  });

  it('llava-interleave-qwen-0.5b: Qwen2 biases, tied embeddings from text_config, SigLIP full strategy', () => {
    const c = parseLlavaConfig(INTERLEAVE);
    expect(c.text).toMatchObject({ modelType: 'qwen2', numKvHeads: 16, headDim: 64, rmsNormEps: 1e-6, rope: { theta: 1e6, type: 'default', factor: 1 }, qkvBias: true, oBias: false, mlpBias: false, bosTokenId: 151643, eosTokenId: 151645 });
    expect(c.vision).toMatchObject({ modelType: 'siglip_vision_model', hiddenAct: 'gelu_pytorch_tanh', layerNormEps: 1e-6, headDim: 72, numPatches: 729, numPositions: 729, classToken: false, preLayerNorm: false, patchBias: true });
    expect(c).toMatchObject({ visionHiddenStateIndex: 26, visionFeatureSelectStrategy: 'full', imageSeqLength: 729, tieWordEmbeddings: true });
  });

  it('bare sub-configs take the class defaults; Qwen2 without num_key_value_heads gets 32, an explicit null gets the head count', () => {
    const c = parseLlavaConfig({ text_config: { model_type: 'qwen2' }, vision_config: { model_type: 'siglip_vision_model' }, image_token_index: 5 });
    expect(c.text).toMatchObject({ vocabSize: 151936, hiddenSize: 4096, intermediateSize: 22016, numLayers: 32, numHeads: 32, numKvHeads: 32, maxPositionEmbeddings: 32768, bosTokenId: null, eosTokenId: null });
    expect(c.vision).toMatchObject({ hiddenSize: 768, intermediateSize: 3072, numLayers: 12, numHeads: 12, imageSize: 224, patchSize: 16, numPatches: 196 });
    const q = parseLlavaConfig({ text_config: { model_type: 'qwen2', num_attention_heads: 8, hidden_size: 256, num_key_value_heads: null }, image_token_index: 5 });
    expect(q.text.numKvHeads).toBe(8);
    expect(errorOf({ text_config: { model_type: 'qwen2', num_attention_heads: 8, hidden_size: 256 }, image_token_index: 5 })).toMatch(/config\.json: text_config\.num_key_value_heads: 32 kv heads do not divide 8 attention heads/);
  });

  it('absent sub-configs: CLIP-L/14-336 and LlamaConfig(), CLIP defaults patch 32 / image 224', () => {
    const c = parseLlavaConfig({});
    expect(c.vision).toMatchObject({ hiddenSize: 1024, numLayers: 24, patchSize: 14, imageSize: 336 });
    expect(c.text).toMatchObject({ vocabSize: 32000, numKvHeads: 32, rmsNormEps: 1e-6 });
    expect(c.imageTokenIndex).toBe(32000);
    expect(parseLlavaConfig({ vision_config: {} }).vision).toMatchObject({ modelType: 'clip_vision_model', patchSize: 32, imageSize: 224, numPositions: 50 });
  });

  it('head_dim, image_token_id alias, top-level tie, declared image_seq_length, llama attention_bias', () => {
    const c = parseLlavaConfig({
      image_token_id: 7, tie_word_embeddings: true, image_seq_length: 576, vision_feature_layer: 1,
      text_config: { hidden_size: 64, num_attention_heads: 4, head_dim: 32, num_key_value_heads: 2, attention_bias: true, vocab_size: 100 },
      vision_config: { image_size: 32, patch_size: 8, num_hidden_layers: 2, hidden_size: 16, num_attention_heads: 2 },
    });
    expect(c.text).toMatchObject({ headDim: 32, numKvHeads: 2, qkvBias: true, oBias: true });
    expect(c).toMatchObject({ imageTokenIndex: 7, tieWordEmbeddings: true, imageSeqLength: 16, declaredImageSeqLength: 576, visionHiddenStateIndex: 1 });
  });

  it('rope_parameters (v5) and rope_scaling (v4): theta and linear factor', () => {
    const v5 = parseLlavaConfig({ text_config: { rope_parameters: { rope_type: 'default', rope_theta: 5e5 } } });
    expect(v5.text.rope).toEqual({ theta: 5e5, type: 'default', factor: 1 });
    const lin = parseLlavaConfig({ text_config: { rope_theta: 1e4, rope_scaling: { type: 'linear', factor: 2 } } });
    expect(lin.text.rope).toEqual({ theta: 1e4, type: 'linear', factor: 2 });
  });
});

describe('LLaVA config errors name config.json and the field', () => {
  it('unsupported rope scaling types', () => {
    expect(errorOf({ text_config: { rope_scaling: { rope_type: 'llama3', factor: 8 } } })).toMatch(/config\.json: text_config\.rope_scaling\.rope_type: rope type "llama3" is not supported/);
    expect(errorOf({ text_config: { rope_parameters: { rope_type: 'yarn', rope_theta: 1e4 } } })).toMatch(/text_config\.rope_parameters\.rope_type: rope type "yarn" is not supported/);
    expect(errorOf({ text_config: { rope_scaling: { type: 'linear' } } })).toMatch(/text_config\.rope_scaling\.factor: linear rope scaling needs a positive factor/);
  });

  it('unknown architecture and model types', () => {
    expect(errorOf({ ...clone(LLAVA_15), architectures: ['Idefics3ForConditionalGeneration'] })).toMatch(/config\.json: architectures: unsupported architecture \["Idefics3ForConditionalGeneration"\]/);
    expect(errorOf({ model_type: 'idefics3' })).toMatch(/config\.json: model_type: unsupported model type "idefics3"/);
    const v = clone(LLAVA_15);
    v.vision_config.model_type = 'idefics3_vision';
    expect(errorOf(v)).toMatch(/config\.json: vision_config\.model_type: unsupported value "idefics3_vision" \(supported: clip_vision_model, siglip_vision_model\)/);
    const t = clone(LLAVA_15);
    t.text_config.model_type = 'mistral';
    expect(errorOf(t)).toMatch(/config\.json: text_config\.model_type: unsupported value "mistral"/);
  });

  it('vision_feature_layer lists and out-of-range layers, bad strategy, activations, sliding window', () => {
    expect(errorOf({ ...clone(LLAVA_15), vision_feature_layer: [-2, -5] })).toMatch(/config\.json: vision_feature_layer: a list of layers \(\[-2,-5\]\) is not supported/);
    expect(errorOf({ ...clone(LLAVA_15), vision_feature_layer: -26 })).toMatch(/vision_feature_layer: -26 is outside the 25 vision hidden states/);
    expect(errorOf({ ...clone(LLAVA_15), vision_feature_select_strategy: 'cls' })).toMatch(/vision_feature_select_strategy: unsupported value "cls"/);
    expect(errorOf({ ...clone(LLAVA_15), projector_hidden_act: 'relu' })).toMatch(/projector_hidden_act: unsupported value "relu"/);
    const s = clone(INTERLEAVE);
    s.text_config.use_sliding_window = true;
    expect(errorOf(s)).toMatch(/text_config\.use_sliding_window: sliding-window attention is not supported/);
    expect(errorOf({ text_config: { hidden_size: 'big' } })).toMatch(/text_config\.hidden_size: expected an integer >= 1, got "big"/);
  });

  it('an image_token_index outside the vocabulary names the field (issue 11 item 8)', () => {
    expect(errorOf({ ...clone(LLAVA_15), image_token_index: 99999 })).toBe(
      'config.json: image_token_index: 99999 is outside the language model\'s vocabulary (text_config.vocab_size 32064: ids 0..32063, or 32064 for an image token appended after it)');
    expect(errorOf({ ...clone(INTERLEAVE), image_token_index: undefined, image_token_id: 152001 })).toMatch(/^config\.json: image_token_id: 152001 is outside/);
    expect(parseLlavaConfig({ ...clone(LLAVA_15), image_token_index: 32064 }).imageTokenIndex).toBe(32064);
    expect(parseLlavaConfig({}).imageTokenIndex).toBe(32000); // LlavaConfig(): 32000 with LlamaConfig's 32000 tokens
  });
});
