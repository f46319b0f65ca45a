// Qwen2-VL / Qwen2.5-VL config.json parsing (Qwen2VLConfig / Qwen2_5_VLConfig defaults, the published
// 2B / 3B configs, refusals by name), the two on-disk name schemes, the expected tensors against the
// tiny checkpoints, and the M-RoPE refusal for other families (config/text.ts).
import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { ConfigError, Fields } from '../src/config/fields.js';
import { parseTextConfig } from '../src/config/text.js';
import { parseQwen2VLConfig } from '../src/families/qwen2-vl/config.js';
import { writeTinyQwen2VL } from '../src/families/qwen2-vl/tiny.js';
import { qwen2VLCanonicalName, qwen2VLDiskName, qwen2VLExpectedTensors } from '../src/families/qwen2-vl/weights.js';
import { loadModelConfig, openCheckpoint } from '../src/index.js';
import { SafetensorsFile } from '../src/safetensors/reader.js';
import { useTempDir } from './temp-dir.js';

let tmp = '';
useTempDir('qwen2vl-config-', (d) => (tmp = d));

/** Qwen/Qwen2-VL-2B-Instruct config.json (VLM_FAMILIES.md 4.1). */
const QWEN2_VL_2B = {
  architectures: ['Qwen2VLForConditionalGeneration'], attention_dropout: 0.0, bos_token_id: 151643, eos_token_id: 151645,
  vision_start_token_id: 151652, vision_end_token_id: 151653, vision_token_id: 151654, image_token_id: 151655, video_token_id: 151656,
  hidden_act: 'silu', hidden_size: 1536, initializer_range: 0.02, intermediate_size: 8960, max_position_embeddings: 32768, max_window_layers: 28,
  model_type: 'qwen2_vl', num_attention_heads: 12, num_hidden_layers: 28, num_key_value_heads: 2, rms_norm_eps: 1e-6, rope_theta: 1000000.0,
  sliding_window: 32768, tie_word_embeddings: true, torch_dtype: 'bfloat16', use_cache: true, use_sliding_window: false,
  vision_config: { depth: 32, embed_dim: 1280, mlp_ratio: 4, num_heads: 16, in_chans: 3, hidden_size: 1536, patch_size: 14, spatial_merge_size: 2, spatial_patch_size: 14, temporal_patch_size: 2 },
  rope_scaling: { type: 'mrope', mrope_section: [16, 24, 24] },
  vocab_size: 151936,
};

/** Qwen/Qwen2.5-VL-3B-Instruct config.json. */
const QWEN25_VL_3B = {
  architectures: ['Qwen2_5_VLForConditionalGeneration'], bos_token_id: 151643, eos_token_id: 151645, vision_start_token_id: 151652, vision_end_token_id: 151653,
  vision_token_id: 151654, image_token_id: 151655, video_token_id: 151656, hidden_act: 'silu', hidden_size: 2048, intermediate_size: 11008,
  max_position_embeddings: 128000, max_window_layers: 70, model_type: 'qwen2_5_vl', num_attention_heads: 16, num_hidden_layers: 36, num_key_value_heads: 2,
  rms_norm_eps: 1e-6, rope_theta: 1000000.0, sliding_window: 32768, tie_word_embeddings: true, use_sliding_window: false,
  vision_config: { depth: 32, hidden_act: 'silu', hidden_size: 1280, intermediate_size: 3420, num_heads: 16, in_chans: 3, out_hidden_size: 2048, patch_size: 14, spatial_merge_size: 2, spatial_patch_size: 14, window_size: 112, fullatt_block_indexes: [7, 15, 23, 31], tokens_per_second: 2, temporal_patch_size: 2 },
  rope_scaling: { type: 'mrope', mrope_section: [16, 24, 24] },
  vocab_size: 151936,
};

describe('parseQwen2VLConfig', () => {
  it('Qwen2-VL-2B-Instruct: a 12 x 128 Qwen2 decoder with M-RoPE, the 1280-wide quick_gelu tower', () => {
    const c = parseQwen2VLConfig(QWEN2_VL_2B, 'config.json');
    expect(c).toMatchObject({ family: 'qwen2_vl', variant: 'qwen2_vl', imageTokenIndex: 151655, visionStartTokenId: 151652, tieWordEmbeddings: true });
    expect(c.text).toMatchObject({ modelType: 'qwen2', hiddenSize: 1536, numLayers: 28, numHeads: 12, numKvHeads: 2, headDim: 128, intermediateSize: 8960, rmsNormEps: 1e-6, qkvBias: true, oBias: false });
    expect(c.text.rope).toEqual({ theta: 1e6, type: 'default', factor: 1, mropeSection: [16, 24, 24] });
    expect(c.vision).toMatchObject({ depth: 32, hiddenSize: 1280, numHeads: 16, headDim: 80, intermediateSize: 5120, hiddenAct: 'quick_gelu', patchSize: 14, temporalPatchSize: 2, spatialMergeSize: 2, outHiddenSize: 1536, norm: 'layernorm', mlp: 'fc', windowSize: null });
  });

  it('Qwen2.5-VL-3B-Instruct: RMSNorm + SwiGLU tower, 112 px windows, full attention in 7/15/23/31', () => {
    const c = parseQwen2VLConfig(QWEN25_VL_3B, 'config.json');
    expect(c.variant).toBe('qwen2_5_vl');
    expect(c.text).toMatchObject({ hiddenSize: 2048, numLayers: 36, numHeads: 16, headDim: 128, maxPositionEmbeddings: 128000 });
    expect(c.vision).toMatchObject({ hiddenSize: 1280, intermediateSize: 3420, hiddenAct: 'silu', outHiddenSize: 2048, windowSize: 112, mergerWindow: 4, fullAttBlockIndexes: [7, 15, 23, 31], norm: 'rmsnorm', mlp: 'swiglu' });
  });

  it('class defaults fill what a diff-serialized config leaves out; text_config (newer exports) is read too', () => {
    const c = parseQwen2VLConfig({ model_type: 'qwen2_vl', rope_scaling: { type: 'mrope', mrope_section: [16, 24, 24] }, vision_config: { hidden_size: 8192 } });
    expect(c.text).toMatchObject({ vocabSize: 152064, hiddenSize: 8192, numLayers: 80, numHeads: 64, numKvHeads: 8, rmsNormEps: 1e-5 });
    expect(c.tieWordEmbeddings).toBe(false);
    expect(c.vision).toMatchObject({ depth: 32, hiddenSize: 1280, hiddenAct: 'quick_gelu' });
    const { vocab_size: _v, hidden_size: _h, num_attention_heads: _a, num_hidden_layers: _l, num_key_value_heads: _k, intermediate_size: _i, rope_scaling: _r, ...top } = QWEN2_VL_2B;
    const v5 = parseQwen2VLConfig({ ...top, text_config: { model_type: 'qwen2_vl_text', vocab_size: 151936, hidden_size: 1536, num_attention_heads: 12, num_hidden_layers: 28, num_key_value_heads: 2, intermediate_size: 8960, rms_norm_eps: 1e-6, bos_token_id: 151643, eos_token_id: 151645, rope_parameters: { rope_type: 'default', mrope_section: [16, 24, 24], rope_theta: 1e6 } } });
    expect(v5.text).toEqual(parseQwen2VLConfig(QWEN2_VL_2B).text);
  });

  it('refuses by name what it does not implement', () => {
    const bad = (patch: Record<string, unknown>, re: RegExp): void => {
      expect(() => parseQwen2VLConfig({ ...QWEN2_VL_2B, ...patch }, 'c.json')).toThrow(ConfigError);
      expect(() => parseQwen2VLConfig({ ...QWEN2_VL_2B, ...patch }, 'c.json')).toThrow(re);
    };
    bad({ model_type: 'qwen2_audio' }, /c\.json: model_type: unsupported model type "qwen2_audio"/);
    bad({ rope_scaling: undefined }, /mrope_section: Qwen2-VL needs rope_scaling\.mrope_section/);
    bad({ rope_scaling: { type: 'mrope', mrope_section: [16, 24, 16] } }, /rope_scaling\.mrope_section: \[16, 24, 16\] must sum to head_dim \/ 2 = 64/);
    bad({ rope_scaling: { type: 'yarn', mrope_section: [16, 24, 24] } }, /rope_scaling\.type: rope type "yarn" is not supported/);
    bad({ use_sliding_window: true }, /use_sliding_window: sliding-window attention is not supported/);
    bad({ vision_config: { ...QWEN2_VL_2B.vision_config, in_chans: 4 } }, /vision_config\.in_chans: 4 disagrees with in_channels 3/);
    bad({ vision_config: { ...QWEN2_VL_2B.vision_config, hidden_size: 1024 } }, /vision_config\.hidden_size: the merger outputs 1024 features but the language model's hidden_size is 1536/);
    bad({ image_token_id: 200000 }, /image_token_id: 200000 is outside the language model's vocabulary/);
  });

  it('other families refuse multimodal RoPE by name (config/text.ts)', () => {
    const f = (rope: unknown): Fields => new Fields('t.json', { model_type: 'qwen2', hidden_size: 64, num_attention_heads: 4, num_key_value_heads: 2, rope_scaling: rope }, 'text_config.');
    expect(() => parseTextConfig(f({ type: 'mrope', mrope_section: [2, 3, 3] }), ['qwen2'], 'qwen2')).toThrow(/text_config\.rope_scaling\.type: rope type "mrope" \(multimodal RoPE\) is only supported for Qwen2-VL/);
    expect(() => parseTextConfig(f({ type: 'default', mrope_section: [2, 3, 3] }), ['qwen2'], 'qwen2')).toThrow(/text_config\.rope_scaling\.mrope_section: multimodal RoPE sections are only supported for Qwen2-VL/);
    expect(parseTextConfig(f({ type: 'default' }), ['qwen2'], 'qwen2').rope).toEqual({ theta: 10000, type: 'default', factor: 1 });
  });
});

describe('weights', () => {
  it('both on-disk schemes map to one canonical name; we write the published one', () => {
    for (const [disk, canonical] of [
      ['model.layers.0.self_attn.q_proj.weight', 'model.language_model.layers.0.self_attn.q_proj.weight'],
      ['model.language_model.layers.0.self_attn.q_proj.weight', 'model.language_model.layers.0.self_attn.q_proj.weight'],
      ['visual.blocks.3.attn.qkv.bias', 'model.visual.blocks.3.attn.qkv.bias'],
      ['model.visual.blocks.3.attn.qkv.bias', 'model.visual.blocks.3.attn.qkv.bias'],
      ['model.embed_tokens.weight', 'model.language_model.embed_tokens.weight'],
      ['lm_head.weight', 'lm_head.weight'],
    ]) expect(qwen2VLCanonicalName(disk!)).toBe(canonical);
    expect(qwen2VLCanonicalName('vision_tower.x')).toBeNull();
    expect(qwen2VLDiskName('model.visual.merger.ln_q.weight')).toBe('visual.merger.ln_q.weight');
    expect(qwen2VLDiskName('model.language_model.norm.weight')).toBe('model.norm.weight');
  });

  it('Qwen2-VL-2B expects the conv3d patch embed, fused qkv, the merger, a tied lm_head', () => {
    const e = new Map(qwen2VLExpectedTensors(parseQwen2VLConfig(QWEN2_VL_2B)).map((t) => [t.name, t]));
    expect(e.get('model.visual.patch_embed.proj.weight')!.shape).toEqual([1280, 3, 2, 14, 14]);
    expect(e.get('model.visual.blocks.31.attn.qkv.weight')!.shape).toEqual([3840, 1280]);
    expect(e.get('model.visual.blocks.0.mlp.fc1.weight')!.shape).toEqual([5120, 1280]);
    expect(e.get('model.visual.merger.mlp.0.weight')!.shape).toEqual([5120, 5120]);
    expect(e.get('model.visual.merger.mlp.2.weight')!.shape).toEqual([1536, 5120]);
    expect(e.get('lm_head.weight')!.required).toBe(false);
    const e25 = new Map(qwen2VLExpectedTensors(parseQwen2VLConfig(QWEN25_VL_3B)).map((t) => [t.name, t]));
    expect(e25.has('model.visual.blocks.0.norm1.bias')).toBe(false);
    expect(e25.get('model.visual.blocks.0.mlp.gate_proj.bias')!.shape).toEqual([3420]);
    expect(e25.get('model.visual.merger.mlp.2.weight')!.shape).toEqual([2048, 5120]);
  });

  for (const variant of ['qwen2_vl', 'qwen2_5_vl'] as const) {
    it(`the tiny ${variant} checkpoint holds exactly the expected tensors under the published names, and loads`, async () => {
      const dir = join(tmp, variant);
      const { config } = await writeTinyQwen2VL(dir, { variant });
      const f = await SafetensorsFile.open(join(dir, 'model.safetensors'));
      try {
        const want = qwen2VLExpectedTensors(config).filter((t) => t.required).map((t) => [qwen2VLDiskName(t.name), t.shape] as const);
        expect(f.names().sort()).toEqual(want.map(([n]) => n).sort());
        for (const [n, s] of want) expect(f.info(n).shape).toEqual(s);
        expect(f.names().some((n) => n.startsWith('visual.')) && f.names().some((n) => n.startsWith('model.layers.'))).toBe(true);
      } finally {
        await f.close();
      }
      expect((await loadModelConfig(dir)).family).toBe('qwen2_vl');
      const ck = await openCheckpoint(dir);
      expect(ck.unexpected).toEqual([]);
      await ck.close();
    });
  }
});
