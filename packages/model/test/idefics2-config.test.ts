import { describe, expect, it } from 'vitest';
import { parseIdefics2Config } from '../src/families/idefics2/config.js';
import { idefics2CanonicalName, idefics2DiskName, idefics2ExpectedTensors } from '../src/families/idefics2/weights.js';

/** idefics2-8b's config.json as published (sub-configs give only what differs from the class defaults). */
const IDEFICS2_8B = {
  architectures: ['Idefics2ForConditionalGeneration'],
  image_token_id: 32001,
  model_type: 'idefics2',
  perceiver_config: { model_type: 'idefics2', num_key_value_heads: 4, resampler_depth: 3, resampler_head_dim: 96, resampler_n_heads: 16, resampler_n_latents: 64 },
  text_config: { max_position_embeddings: 32768, model_type: 'mistral', pad_token_id: 0, rms_norm_eps: 1e-5, vocab_size: 32003 },
  torch_dtype: 'float32',
  use_cache: true,
  vision_config: { hidden_size: 1152, image_size: 980, intermediate_size: 4304, model_type: 'idefics2', num_attention_heads: 16, num_hidden_layers: 27, patch_size: 14 },
};

const clone = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;

describe('parseIdefics2Config', () => {
  it('reads idefics2-8b with the class defaults filled in', () => {
    const c = parseIdefics2Config(IDEFICS2_8B);
    expect(c.family).toBe('idefics2');
    expect(c.vision).toMatchObject({ hiddenSize: 1152, imageSize: 980, patchSize: 14, numLayers: 27, numHeads: 16, headDim: 72, hiddenAct: 'gelu_pytorch_tanh', layerNormEps: 1e-6, classToken: false, patchBias: true, preLayerNorm: false });
    expect(c.numPatchesPerSide).toBe(70);
    // The perceiver's hidden size equals the text's (4096 default), so it keeps its own eps 1e-6 while the text uses 1e-5.
    expect(c.perceiver).toEqual({ hiddenSize: 4096, hiddenAct: 'silu', rmsNormEps: 1e-6, nLatents: 64, depth: 3, numHeads: 16, headDim: 96, numKvHeads: 4, intermediateSize: 16384, fromText: false });
    expect(c.text).toMatchObject({ modelType: 'mistral', vocabSize: 32003, hiddenSize: 4096, intermediateSize: 14336, numLayers: 32, numHeads: 32, numKvHeads: 8, headDim: 128, rmsNormEps: 1e-5, slidingWindow: 4096, padTokenId: 0 });
    expect(c.imageTokenIndex).toBe(32001);
    expect(c.imageSeqLen).toBe(64);
    expect(c.tieWordEmbeddings).toBe(false);
    expect(c.defaulted).toEqual({ vision: false, perceiver: false, text: false });
  });

  it('takes hidden_size and rms_norm_eps from text_config when the hidden sizes differ (transformers rule)', () => {
    const j = clone(IDEFICS2_8B);
    Object.assign(j.text_config, { hidden_size: 64, num_attention_heads: 4, num_key_value_heads: 2, rms_norm_eps: 3e-5 });
    Object.assign(j.perceiver_config, { rms_norm_eps: 1e-6 }); // overwritten: hidden_size 4096 (default) != 64
    const c = parseIdefics2Config(j);
    expect(c.perceiver).toMatchObject({ hiddenSize: 64, rmsNormEps: 3e-5, intermediateSize: 256, fromText: true });
    // Equal sizes: the perceiver's own eps stays.
    Object.assign(j.perceiver_config, { hidden_size: 64, rms_norm_eps: 2e-6 });
    expect(parseIdefics2Config(j).perceiver).toMatchObject({ hiddenSize: 64, rmsNormEps: 2e-6, fromText: false });
  });

  it('fills absent sub-configs with Idefics2Config defaults (Mistral text with rms 1e-5, 32768 positions, pad 0; vision patch 32)', () => {
    // Idefics2Config() itself pairs image_token_id 32001 with Mistral's 32000 tokens, which cannot run: refused.
    expect(() => parseIdefics2Config({ model_type: 'idefics2' })).toThrow(/image_token_id: 32001 is outside the language model's vocabulary \(text_config.vocab_size 32000\)/);
    const c = parseIdefics2Config({ model_type: 'idefics2', image_token_id: 5 });
    expect(c.defaulted).toEqual({ vision: true, perceiver: true, text: true });
    expect(c.vision).toMatchObject({ hiddenSize: 768, intermediateSize: 3072, numLayers: 12, numHeads: 12, imageSize: 224, patchSize: 32, layerNormEps: 1e-6 });
    expect(c.numPatchesPerSide).toBe(7);
    expect(c.text).toMatchObject({ modelType: 'mistral', rmsNormEps: 1e-5, maxPositionEmbeddings: 32768, padTokenId: 0, vocabSize: 32000 });
    expect(c.perceiver).toMatchObject({ hiddenSize: 4096, rmsNormEps: 1e-6, nLatents: 64, depth: 3, numKvHeads: 4 });
    // A text_config without model_type is a MistralConfig with its own defaults (rms 1e-6, 4096*32 positions).
    const d = parseIdefics2Config({ text_config: { vocab_size: 32003 } }); // image_token_id 32001 by default
    expect(d.text).toMatchObject({ modelType: 'mistral', rmsNormEps: 1e-6, maxPositionEmbeddings: 131072, padTokenId: null });
  });

  it('refuses what it cannot run, naming the file and field', () => {
    const bad = (edit: (j: ReturnType<typeof clone<typeof IDEFICS2_8B>>) => void, re: RegExp): void => {
      const j = clone(IDEFICS2_8B);
      edit(j);
      expect(() => parseIdefics2Config(j, 'm/config.json')).toThrow(re);
    };
    bad((j) => Object.assign(j, { model_type: 'idefics3' }), /m\/config\.json: model_type: unsupported model type "idefics3"/);
    bad((j) => Object.assign(j, { architectures: ['Idefics3ForConditionalGeneration'] }), /architectures: unsupported architecture/);
    bad((j) => Object.assign(j.vision_config, { model_type: 'clip_vision_model' }), /vision_config\.model_type: unsupported model type "clip_vision_model"/);
    bad((j) => Object.assign(j.perceiver_config, { qk_layer_norms_perceiver: true }), /perceiver_config\.qk_layer_norms_perceiver: q\/k layer norms/);
    bad((j) => Object.assign(j.perceiver_config, { num_key_value_heads: 32 }), /perceiver_config\.num_key_value_heads: 32 must be at most resampler_n_heads 16/);
    bad((j) => Object.assign(j.perceiver_config, { num_key_value_heads: 3 }), /perceiver_config\.num_key_value_heads: 3 kv heads do not divide 16/);
    bad((j) => Object.assign(j.perceiver_config, { hidden_act: 'relu' }), /perceiver_config\.hidden_act: unsupported value "relu"/);
    bad((j) => Object.assign(j.text_config, { model_type: 'gemma' }), /text_config\.model_type: unsupported value "gemma"/);
    bad((j) => Object.assign(j.text_config, { rope_scaling: { type: 'dynamic', factor: 2 } }), /rope type "dynamic" is not supported/);
    bad((j) => Object.assign(j, { image_token_id: 32003 }), /image_token_id: 32003 is outside the language model's vocabulary/);
    expect(() => parseIdefics2Config([], 'x.json')).toThrow(/x\.json: \(root\): expected a JSON object/);
  });
});

describe('Idefics2 tensor names', () => {
  it('maps model.text_model.* to the canonical model.language_model.* and keeps the rest', () => {
    expect(idefics2CanonicalName('model.text_model.layers.3.self_attn.o_proj.weight')).toBe('model.language_model.layers.3.self_attn.o_proj.weight');
    expect(idefics2CanonicalName('model.text_model.embed_tokens.weight')).toBe('model.language_model.embed_tokens.weight');
    for (const keep of ['lm_head.weight', 'model.vision_model.post_layernorm.bias', 'model.connector.perceiver_resampler.latents', 'model.connector.modality_projection.gate_proj.weight']) {
      expect(idefics2CanonicalName(keep)).toBe(keep);
    }
    expect(idefics2CanonicalName('language_model.model.norm.weight')).toBeNull();
    expect(idefics2CanonicalName('model.language_model.norm.weight')).toBeNull(); // not Idefics2's published naming
    expect(idefics2DiskName('model.language_model.norm.weight')).toBe('model.text_model.norm.weight');
    expect(idefics2DiskName('model.connector.perceiver_resampler.norm.weight')).toBe('model.connector.perceiver_resampler.norm.weight');
  });

  it('lists idefics2-8b tensors with their shapes', () => {
    const list = idefics2ExpectedTensors(parseIdefics2Config(IDEFICS2_8B));
    const shape = new Map(list.map((t) => [t.name, t.shape]));
    expect(shape.get('model.vision_model.embeddings.patch_embedding.weight')).toEqual([1152, 3, 14, 14]);
    expect(shape.get('model.vision_model.embeddings.position_embedding.weight')).toEqual([4900, 1152]);
    expect(shape.get('model.vision_model.post_layernorm.weight')).toEqual([1152]);
    expect(shape.get('model.connector.modality_projection.gate_proj.weight')).toEqual([14336, 1152]);
    expect(shape.get('model.connector.modality_projection.down_proj.weight')).toEqual([4096, 14336]);
    expect(shape.get('model.connector.perceiver_resampler.latents')).toEqual([64, 4096]);
    expect(shape.get('model.connector.perceiver_resampler.layers.2.self_attn.q_proj.weight')).toEqual([1536, 4096]);
    expect(shape.get('model.connector.perceiver_resampler.layers.2.self_attn.k_proj.weight')).toEqual([384, 4096]);
    expect(shape.get('model.connector.perceiver_resampler.layers.2.self_attn.o_proj.weight')).toEqual([4096, 1536]);
    expect(shape.get('model.connector.perceiver_resampler.layers.0.mlp.up_proj.weight')).toEqual([16384, 4096]);
    expect(shape.get('model.connector.perceiver_resampler.layers.0.mlp.down_proj.weight')).toEqual([4096, 16384]);
    expect(shape.get('model.connector.perceiver_resampler.norm.weight')).toEqual([4096]);
    expect(shape.has('model.connector.perceiver_resampler.layers.3.input_latents_norm.weight')).toBe(false);
    expect(shape.get('model.language_model.layers.31.self_attn.k_proj.weight')).toEqual([1024, 4096]);
    expect(shape.get('model.language_model.embed_tokens.weight')).toEqual([32003, 4096]);
    expect(list.find((t) => t.name === 'lm_head.weight')).toEqual({ name: 'lm_head.weight', shape: [32003, 4096], required: true });
    expect(list.every((t) => t.required)).toBe(true);
    expect(list.length).toBe(3 + 27 * 16 + 2 + 3 + 1 + 3 * 10 + 1 + 1 + 32 * 9 + 1 + 1);
  });
});
