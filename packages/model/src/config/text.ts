// text_config of the decoder LM -> TextConfig, with the defaults of transformers' LlamaConfig,
// Qwen2Config and MistralConfig (VLM_FORMATS.md 3, VLM_FAMILIES.md). Shared by every family.
import { Fields } from './fields.js';
import { ACTIVATIONS, type RopeConfig, type TextConfig, type TextModelType } from './types.js';

const TEXT_DEFAULTS: Record<TextModelType, { vocab_size: number; intermediate_size: number; max_position_embeddings: number; bos: number | null; eos: number | null; kv: number | null }> = {
  // LlamaConfig: num_key_value_heads None -> num_attention_heads.
  llama: { vocab_size: 32000, intermediate_size: 11008, max_position_embeddings: 2048, bos: 1, eos: 2, kv: null },
  // Qwen2Config: num_key_value_heads defaults to 32 (None only when given explicitly as null).
  qwen2: { vocab_size: 151936, intermediate_size: 22016, max_position_embeddings: 32768, bos: null, eos: null, kv: 32 },
  // MistralConfig (Idefics2's decoder): 8 kv heads, a 4096-token sliding window by default.
  mistral: { vocab_size: 32000, intermediate_size: 14336, max_position_embeddings: 4096 * 32, bos: 1, eos: 2, kv: 8 },
};

/**
 * rope_theta and rope type from the v5 `rope_parameters`, or the v4 `rope_theta` + `rope_scaling`.
 * With `mrope` (Qwen2-VL only), type "mrope" is read as "default" (as Qwen2VLConfig rewrites it)
 * and `mrope_section` is kept; every other family refuses both by name.
 */
function parseRope(f: Fields, mrope: boolean): RopeConfig {
  const params = f.sub('rope_parameters');
  const scaling = f.sub('rope_scaling');
  const theta = params?.has('rope_theta') ? params.num('rope_theta', 10000) : f.num('rope_theta', 10000);
  const src = params ?? scaling;
  if (!src) return { theta, type: 'default', factor: 1 };
  const typeKey = src.has('rope_type') ? 'rope_type' : 'type';
  let raw = src.str(typeKey, 'default');
  if (raw === 'mrope') {
    if (!mrope) src.fail(typeKey, 'rope type "mrope" (multimodal RoPE) is only supported for Qwen2-VL / Qwen2.5-VL');
    raw = 'default';
  }
  if (raw !== 'default' && raw !== 'linear') src.fail(typeKey, `rope type ${JSON.stringify(raw)} is not supported (supported: default, linear)`);
  const type = raw as RopeConfig['type'];
  const factor = type === 'linear' && src.has('factor') ? src.num('factor', 1) : type === 'linear' ? NaN : 1;
  if (!(factor > 0)) src.fail('factor', `linear rope scaling needs a positive factor, got ${JSON.stringify(src.obj['factor'])}`);
  if (src.has('mrope_section')) {
    if (!mrope) src.fail('mrope_section', 'multimodal RoPE sections are only supported for Qwen2-VL / Qwen2.5-VL');
    if (type !== 'default') src.fail('mrope_section', `multimodal RoPE with rope type ${JSON.stringify(type)} is not supported (only default)`);
    const sec = src.obj['mrope_section'] as unknown[];
    if (!Array.isArray(sec) || sec.length !== 3 || !sec.every((x) => typeof x === 'number' && Number.isInteger(x) && x >= 0)) {
      src.fail('mrope_section', `expected three non-negative integers [temporal, height, width], got ${JSON.stringify(sec)}`);
    }
    return { theta, type, factor, mropeSection: [sec[0] as number, sec[1] as number, sec[2] as number] };
  }
  return { theta, type, factor };
}

/** A decoder text_config; `tie` is its own tie_word_embeddings (families also read a top-level one). */
export function parseTextConfig(f: Fields, modelTypes: readonly TextModelType[] = ['llama', 'qwen2'], defaultType: TextModelType = 'llama', opts: { mrope?: boolean } = {}): TextConfig & { tie: boolean } {
  const modelType = f.oneOf<TextModelType>('model_type', defaultType, modelTypes);
  const d = TEXT_DEFAULTS[modelType];
  const hiddenSize = f.positive('hidden_size', 4096);
  const numHeads = f.positive('num_attention_heads', 32);
  const kvRaw = f.obj['num_key_value_heads'] === undefined ? d.kv : f.obj['num_key_value_heads'];
  const numKvHeads = kvRaw === null ? numHeads : f.positive('num_key_value_heads', kvRaw as number);
  if (numHeads % numKvHeads !== 0) f.fail('num_key_value_heads', `${numKvHeads} kv heads do not divide ${numHeads} attention heads`);
  if (!f.has('head_dim') && hiddenSize % numHeads !== 0) f.fail('num_attention_heads', `hidden_size ${hiddenSize} is not divisible by ${numHeads} heads and no head_dim is given`);
  const headDim = f.has('head_dim') ? f.positive('head_dim', 0) : hiddenSize / numHeads;
  if (headDim % 2 !== 0) f.fail('head_dim', `head_dim ${headDim} must be even for rotary embeddings`);
  if (modelType === 'qwen2' && f.bool('use_sliding_window', false)) f.fail('use_sliding_window', 'sliding-window attention is not supported');
  // Mistral attends to the last `sliding_window` keys. We run full attention and refuse any sequence
  // longer than the window (where the two differ), so the window is kept, never ignored.
  const slidingWindow = modelType === 'mistral' ? (f.obj['sliding_window'] === null ? null : f.positive('sliding_window', 4096)) : null;
  const attentionBias = modelType === 'llama' && f.bool('attention_bias', false);
  const rope = parseRope(f, opts.mrope ?? false);
  if (rope.mropeSection && rope.mropeSection.reduce((a, b) => a + b, 0) !== headDim / 2) {
    (f.sub('rope_parameters') ?? f.sub('rope_scaling') ?? f).fail('mrope_section', `[${rope.mropeSection.join(', ')}] must sum to head_dim / 2 = ${headDim / 2}`);
  }
  return {
    modelType,
    vocabSize: f.positive('vocab_size', d.vocab_size),
    hiddenSize,
    intermediateSize: f.positive('intermediate_size', d.intermediate_size),
    numLayers: f.positive('num_hidden_layers', 32),
    numHeads,
    numKvHeads,
    headDim,
    hiddenAct: f.oneOf('hidden_act', 'silu', ACTIVATIONS),
    rmsNormEps: f.num('rms_norm_eps', 1e-6),
    rope,
    maxPositionEmbeddings: f.positive('max_position_embeddings', d.max_position_embeddings),
    qkvBias: modelType === 'qwen2' || attentionBias,
    oBias: attentionBias,
    mlpBias: modelType === 'llama' && f.bool('mlp_bias', false),
    bosTokenId: f.intOrNull('bos_token_id', d.bos),
    eosTokenId: f.intsOrNull('eos_token_id', d.eos),
    padTokenId: f.intOrNull('pad_token_id', null),
    slidingWindow,
    tie: f.bool('tie_word_embeddings', false),
  };
}
