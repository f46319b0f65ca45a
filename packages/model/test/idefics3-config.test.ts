// Idefics3 config.json parsing (defaults of Idefics3Config / Idefics3VisionConfig / LlamaConfig, the
// refusals), the name mapping, and the expected tensors against the tiny checkpoint's safetensors.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../src/config/fields.js';
import { parseIdefics3Config } from '../src/families/idefics3/config.js';
import { loadModelConfig } from '../src/index.js';
import { writeTinyIdefics3 } from '../src/families/idefics3/tiny.js';
import { idefics3CanonicalName, idefics3DiskName, idefics3ExpectedTensors } from '../src/families/idefics3/weights.js';
import { SafetensorsFile } from '../src/safetensors/reader.js';
import { useTempDir } from './temp-dir.js';

let tmp = '';
useTempDir('idefics3-config-', (d) => (tmp = d));

/** SmolVLM-256M-Instruct's config.json, as far as its fields matter here (VLM_FAMILIES.md 1.1). */
const SMOLVLM_256M = {
  architectures: ['Idefics3ForConditionalGeneration'],
  image_token_id: 49190,
  model_type: 'idefics3',
  scale_factor: 4,
  text_config: {
    _flash_attn_2_enabled: true,
    architectures: ['VLlama3ForCausalLM'],
    head_dim: 64,
    hidden_size: 576,
    intermediate_size: 1536,
    is_llama_config: true,
    max_position_embeddings: 8192,
    model_type: 'llama',
    num_attention_heads: 9,
    num_hidden_layers: 30,
    num_key_value_heads: 3,
    pad_token_id: 2,
    pixel_shuffle_factor: 4,
    qk_layer_norms: false,
    rms_norm_eps: 1e-5,
    rope_interleaved: false,
    rope_theta: 100000,
    use_resampler: false,
    vocab_size: 49280,
  },
  tie_word_embeddings: false,
  vision_config: { hidden_size: 768, image_size: 512, intermediate_size: 3072, max_image_size: { longest_edge: 512 }, model_type: 'idefics3_vision', num_attention_heads: 12, patch_size: 16, size: { longest_edge: 2048 }, use_base_siglip: false },
  perceiver_config: { model_type: 'vllama3', resampler_n_latents: 64 },
};

describe('parseIdefics3Config', () => {
  it('reads SmolVLM-256M: 64 tokens per 512 px tile, the llama decoder, the perceiver config ignored', () => {
    const c = parseIdefics3Config(SMOLVLM_256M);
    expect(c).toMatchObject({ family: 'idefics3', imageTokenIndex: 49190, scaleFactor: 4, patchesPerSide: 32, imageSeqLen: 64, tieWordEmbeddings: false });
    expect(c.vision).toMatchObject({ modelType: 'siglip_vision_model', hiddenSize: 768, intermediateSize: 3072, numLayers: 12, numHeads: 12, headDim: 64, imageSize: 512, patchSize: 16, hiddenAct: 'gelu_pytorch_tanh', layerNormEps: 1e-6, numPatches: 1024, classToken: false, preLayerNorm: false, patchBias: true });
    expect(c.text).toMatchObject({ modelType: 'llama', hiddenSize: 576, numLayers: 30, numHeads: 9, numKvHeads: 3, headDim: 64, vocabSize: 49280, rmsNormEps: 1e-5, rope: { theta: 100000, type: 'default', factor: 1 }, maxPositionEmbeddings: 8192 });
  });

  it('SmolVLM-Instruct (2.2B): 384 / 14 leaves 27 patches a side (6 px dropped), 81 tokens at scale 3', () => {
    const c = parseIdefics3Config({ ...SMOLVLM_256M, image_token_id: 49153, scale_factor: 3, vision_config: { hidden_size: 1152, intermediate_size: 4304, num_hidden_layers: 27, num_attention_heads: 16, image_size: 384, patch_size: 14 }, text_config: { ...SMOLVLM_256M.text_config, vocab_size: 49155 } });
    expect([c.patchesPerSide, c.imageSeqLen, c.vision.numPatches]).toEqual([27, 81, 729]);
  });

  it("fills Idefics3VisionConfig's defaults (not SigLIP's) and, without a text_config, LlamaConfig(rms_norm_eps=1e-5)", () => {
    // Idefics3Config() itself cannot run: 224 // 32 = 7 patches a side, which scale_factor 2 does not divide.
    expect(() => parseIdefics3Config({ model_type: 'idefics3', image_token_id: 5 })).toThrow(/scale_factor: 2 does not divide the 7 patches per tile side/);
    const c = parseIdefics3Config({ model_type: 'idefics3', image_token_id: 5, scale_factor: 7 });
    expect(c.vision).toMatchObject({ hiddenSize: 1152, intermediateSize: 3072, numLayers: 12, numHeads: 16, imageSize: 224, patchSize: 32, layerNormEps: 1e-6, hiddenAct: 'gelu_pytorch_tanh', numChannels: 3 });
    expect([c.patchesPerSide, c.scaleFactor, c.imageSeqLen, c.imageTokenIndex, c.tieWordEmbeddings]).toEqual([7, 7, 1, 5, false]);
    expect(c.text).toMatchObject({ modelType: 'llama', rmsNormEps: 1e-5, vocabSize: 32000, hiddenSize: 4096, padTokenId: 128002 });
    // A given text_config gets LlamaConfig's own defaults (rms_norm_eps 1e-6).
    expect(parseIdefics3Config({ ...SMOLVLM_256M, text_config: { vocab_size: 49280 } }).text.rmsNormEps).toBe(1e-6);
  });

  it('ties on the top-level flag, else on the text config', () => {
    expect(parseIdefics3Config({ ...SMOLVLM_256M, tie_word_embeddings: true }).tieWordEmbeddings).toBe(true);
    const { tie_word_embeddings: _, ...noTop } = SMOLVLM_256M;
    expect(parseIdefics3Config({ ...noTop, text_config: { ...SMOLVLM_256M.text_config, tie_word_embeddings: true } }).tieWordEmbeddings).toBe(true);
    expect(parseIdefics3Config(noTop).tieWordEmbeddings).toBe(false);
  });

  it('refuses what it does not implement, naming the file and field', () => {
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ ...SMOLVLM_256M, model_type: 'idefics2' }, /c\.json: model_type: unsupported model type "idefics2"/],
      [{ ...SMOLVLM_256M, architectures: ['Idefics3Model'] }, /architectures: unsupported architecture/],
      [{ ...SMOLVLM_256M, use_export_friendly: true }, /use_export_friendly: export-friendly mode/],
      [{ ...SMOLVLM_256M, vision_config: { ...SMOLVLM_256M.vision_config, model_type: 'clip_vision_model' } }, /vision_config\.model_type: unsupported vision model type "clip_vision_model"/],
      [{ ...SMOLVLM_256M, vision_config: { ...SMOLVLM_256M.vision_config, hidden_act: 'relu' } }, /vision_config\.hidden_act: unsupported value "relu"/],
      [{ ...SMOLVLM_256M, vision_config: { ...SMOLVLM_256M.vision_config, num_attention_heads: 7 } }, /vision_config\.num_attention_heads: hidden_size 768 is not divisible by 7 heads/],
      [{ ...SMOLVLM_256M, text_config: { ...SMOLVLM_256M.text_config, rope_scaling: { rope_type: 'llama3', factor: 8 } } }, /text_config\.rope_scaling\.rope_type: rope type "llama3" is not supported/],
      [{ ...SMOLVLM_256M, text_config: { ...SMOLVLM_256M.text_config, model_type: 'gemma' } }, /text_config\.model_type: unsupported value "gemma"/],
      [{ ...SMOLVLM_256M, scale_factor: 3 }, /scale_factor: 3 does not divide the 32 patches per tile side/],
      [{ ...SMOLVLM_256M, image_token_id: 49280 }, /image_token_id: 49280 is outside the language model's vocabulary \(text_config\.vocab_size 49280\)/],
      [{ ...SMOLVLM_256M, vision_config: 'x' }, /vision_config: expected an object/],
    ];
    for (const [json, re] of cases) {
      expect(() => parseIdefics3Config(json, 'c.json')).toThrow(ConfigError);
      expect(() => parseIdefics3Config(json, 'c.json')).toThrow(re);
    }
    expect(() => parseIdefics3Config([], 'c.json')).toThrow(/c\.json: \(root\): expected a JSON object/);
  });
});

describe('Idefics3 tensor names and the tiny checkpoint', () => {
  it('maps model.text_model.* to the canonical decoder names and keeps the rest', () => {
    expect(idefics3CanonicalName('model.text_model.layers.3.self_attn.o_proj.weight')).toBe('model.language_model.layers.3.self_attn.o_proj.weight');
    expect(idefics3CanonicalName('model.text_model.embed_tokens.weight')).toBe('model.language_model.embed_tokens.weight');
    expect(idefics3CanonicalName('model.vision_model.post_layernorm.weight')).toBe('model.vision_model.post_layernorm.weight');
    expect(idefics3CanonicalName('model.connector.modality_projection.proj.weight')).toBe('model.connector.modality_projection.proj.weight');
    expect(idefics3CanonicalName('lm_head.weight')).toBe('lm_head.weight');
    expect(idefics3CanonicalName('language_model.model.norm.weight')).toBeNull();
    for (const n of ['model.language_model.norm.weight', 'lm_head.weight', 'model.vision_model.encoder.layers.0.mlp.fc1.bias']) expect(idefics3CanonicalName(idefics3DiskName(n))).toBe(n);
    expect(idefics3DiskName('model.language_model.norm.weight')).toBe('model.text_model.norm.weight');
  });

  it('the tiny checkpoint holds exactly the expected tensors, with their shapes, under the published names', async () => {
    const dir = join(tmp, 'tiny');
    const ck = await writeTinyIdefics3(dir, { seed: 2 });
    expect(ck.files).toEqual(['config.json', 'generation_config.json', 'model.safetensors', 'preprocessor_config.json', 'processor_config.json', 'tokenizer.json', 'tokenizer_config.json']);
    const config = await loadModelConfig(dir);
    expect(config).toEqual(ck.config);
    const expected = idefics3ExpectedTensors(config);
    const f = await SafetensorsFile.open(join(dir, 'model.safetensors'));
    try {
      const onDisk = new Map<string, number[]>();
      for (const name of f.names()) {
        const canonical = idefics3CanonicalName(name);
        expect(canonical, name).not.toBeNull();
        onDisk.set(canonical!, [...f.info(name).shape]);
      }
      expect(new Set(onDisk.keys())).toEqual(new Set(expected.map((t) => t.name)));
      for (const t of expected) expect(onDisk.get(t.name), t.name).toEqual(t.shape);
      expect(f.names().some((n) => n.startsWith('model.text_model.layers.1.'))).toBe(true);
    } finally {
      await f.close();
    }
    const byName = new Map(expected.map((t) => [t.name, t]));
    const c = config;
    expect(byName.get('model.connector.modality_projection.proj.weight')!.shape).toEqual([64, 32 * 4]);
    expect(byName.get('model.vision_model.embeddings.position_embedding.weight')!.shape).toEqual([16, 32]);
    expect(byName.get('model.vision_model.embeddings.patch_embedding.weight')!.shape).toEqual([32, 3, 8, 8]);
    expect(byName.get('model.language_model.layers.0.self_attn.k_proj.weight')!.shape).toEqual([2 * 16, 64]);
    expect(byName.get('model.language_model.layers.0.self_attn.q_proj.weight')!.shape).toEqual([4 * 16, 64]);
    expect(byName.get('lm_head.weight')).toEqual({ name: 'lm_head.weight', shape: [c.text.vocabSize, 64], required: true });
    expect(byName.get('model.vision_model.post_layernorm.weight')!.required).toBe(true);
  });

  it('a tied checkpoint does not store lm_head, and it is not required', async () => {
    const dir = join(tmp, 'tied');
    const ck = await writeTinyIdefics3(dir, { seed: 2, configOverrides: { top: { tie_word_embeddings: true } } });
    expect(idefics3ExpectedTensors(ck.config).find((t) => t.name === 'lm_head.weight')!.required).toBe(false);
    const f = await SafetensorsFile.open(join(dir, 'model.safetensors'));
    try {
      expect(f.names()).not.toContain('lm_head.weight');
    } finally {
      await f.close();
    }
  });
});
