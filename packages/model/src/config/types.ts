// Typed LlavaForConditionalGeneration config with every default filled in (see VLM_FORMATS.md 1.1, 2, 3).

/** Activations by their transformers ACT2FN names. `gelu` is exact erf GELU; `gelu_pytorch_tanh` the tanh approximation. */
export type Activation = 'gelu' | 'gelu_pytorch_tanh' | 'quick_gelu' | 'silu';
export const ACTIVATIONS: readonly Activation[] = ['gelu', 'gelu_pytorch_tanh', 'quick_gelu', 'silu'];

export type VisionModelType = 'clip_vision_model' | 'siglip_vision_model';
export type TextModelType = 'llama' | 'qwen2' | 'mistral';

export interface VisionConfig {
  modelType: VisionModelType;
  hiddenSize: number;
  intermediateSize: number;
  numLayers: number;
  numHeads: number;
  headDim: number;
  numChannels: number;
  imageSize: number;
  patchSize: number;
  hiddenAct: Activation;
  layerNormEps: number;
  /** (imageSize / patchSize)^2, the conv is "valid" so the remainder pixels are ignored. */
  numPatches: number;
  /** Tokens out of the embeddings: numPatches + 1 with CLIP's class token. */
  numPositions: number;
  /** CLIP: class token, pre_layrnorm, no patch bias. SigLIP: none of those, patch bias. */
  classToken: boolean;
  preLayerNorm: boolean;
  patchBias: boolean;
}

export interface RopeConfig {
  theta: number;
  /** `default`: angle = p * inv_freq. `linear`: positions divided by `factor`. */
  type: 'default' | 'linear';
  factor: number;
  /**
   * Qwen2-VL's multimodal RoPE (rope_scaling.mrope_section): frequency i of the first `t` takes the
   * temporal position, the next `h` the height, the last `w` the width; sums to head_dim / 2.
   * Absent for every other decoder (one position per token).
   */
  mropeSection?: readonly [t: number, h: number, w: number];
}

export interface TextConfig {
  modelType: TextModelType;
  vocabSize: number;
  hiddenSize: number;
  intermediateSize: number;
  numLayers: number;
  numHeads: number;
  numKvHeads: number;
  headDim: number;
  hiddenAct: Activation;
  rmsNormEps: number;
  rope: RopeConfig;
  maxPositionEmbeddings: number;
  /** Biases on q/k/v (Qwen2 always; Llama when attention_bias). */
  qkvBias: boolean;
  /** Bias on o_proj (Llama attention_bias only; never Qwen2). */
  oBias: boolean;
  /** Biases on gate/up/down (Llama mlp_bias). */
  mlpBias: boolean;
  bosTokenId: number | null;
  eosTokenId: number | number[] | null;
  padTokenId: number | null;
  /** Mistral's sliding_window: sequences longer than this are refused (full attention equals it up to there). */
  slidingWindow: number | null;
}
