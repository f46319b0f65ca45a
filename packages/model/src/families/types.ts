// The contract every model family implements (one folder per family under families/): how its
// config.json parses, how its on-disk tensor names map to canonical ones, what tensors it needs, how
// its processor turns text + images into token ids and pixels, and how its vision tower + connector
// turn pixels into image features on the GPU and in float64. The decoder pass, KV cache, tap/patch
// and generation are shared (runtime/), and so is the float64 decoder (reference/decoder.ts).
import type { Recorder, Tensor } from '@mtv/kernels';
import type { TextConfig } from '../config/types.js';
import type { RgbImage } from '../image/types.js';
import type { TextTokenizer } from '../tokenizer/tokenizer.js';

export type FamilyName = 'llava' | 'idefics3' | 'idefics2' | 'qwen2_vl' | 'vila' | 'llava_next' | 'llava_onevision';

/** What every family's parsed config has: the shared decoder's config and the image token. */
export interface ModelConfigBase {
  family: FamilyName;
  text: TextConfig;
  /** Id of the placeholder token whose embedding rows are replaced by image features. */
  imageTokenIndex: number;
  /** lm_head shares embed_tokens. */
  tieWordEmbeddings: boolean;
  /** Sub-configs absent from config.json and filled with class defaults: named when the weights disagree. */
  defaulted?: { text: boolean; vision: boolean };
}

/** One tensor a checkpoint must (or may) hold, by canonical name. */
export interface ExpectedTensor {
  name: string;
  shape: number[];
  /** False for tensors the family never reads (unused vision layers, post_layernorm, a tied lm_head). */
  required: boolean;
}

/**
 * Preprocessed images as the vision tower takes them: `n` tiles [n, channels, height, width]
 * (LLaVA: one tile per image; Idefics3: the crops of every image, then its global view), with the
 * Idefics pixel mask [n, height, width] (1 = a real pixel, 0 = padding) when the family pads.
 */
export interface PixelBatch {
  data: Float32Array;
  shape: [n: number, channels: number, height: number, width: number];
  mask?: Uint8Array;
  /**
   * Qwen2-VL: image_grid_thw, (t, h, w) patches per image. The batch is then the processor's
   * flattened patches, one "tile" per patch: [sum of t*h*w, channels * temporal_patch, patch, patch].
   */
  grids?: ReadonlyArray<readonly [t: number, h: number, w: number]>;
  /**
   * Anyres families (LLaVA-NeXT / OneVision): per image in order, its original size (transformers'
   * image_sizes) and how many of the n tiles are its own (the base crop first).
   */
  images?: ReadonlyArray<{ height: number; width: number; tiles: number }>;
}

/** A prompt ready for the model: token ids with images expanded, and the pixel values. */
export interface PreparedPrompt {
  ids: Int32Array;
  /** Positions of the image tokens of each image, in order (every image-token id is in exactly one). */
  imagePositions: number[][];
  /** The pixels of every image in the prompt, or null without images. */
  pixels: PixelBatch | null;
  /**
   * Multimodal RoPE positions [3, T] (temporal, height, width rows; Qwen2-VL's get_rope_index), for
   * decoders with rope mrope_section. Absent: token t is at position t.
   */
  ropePositions?: Int32Array;
}

export type ImageInput = RgbImage | Uint8Array | string;

export interface PromptInput {
  /** Text with one `<image>` placeholder per image. */
  text: string;
  images?: readonly ImageInput[];
  addSpecialTokens?: boolean;
}

/** A family's processor: text + images -> PreparedPrompt (transformers' XxxProcessor.__call__). */
export interface Processor {
  prepare(input: PromptInput): Promise<PreparedPrompt>;
  /** The most pixels an image may have before decoding is refused (what this processor can use, capped). */
  readonly pixelLimit: number;
}

/** Reads checkpoint tensors onto the device: norms/biases as f32, matmul weights in the model's dtype. */
export interface WeightUploader {
  has(name: string): boolean;
  shape(name: string): readonly number[];
  f32(name: string, shape?: readonly number[]): Promise<Tensor>;
  mat(name: string, shape?: readonly number[]): Promise<Tensor>;
  readF32(name: string): Promise<Float32Array>;
}

/** Float64 tensors by canonical name, for the float64 references. */
export interface ReferenceTensors<C extends ModelConfigBase = ModelConfigBase> {
  config: C;
  tensors: ReadonlyMap<string, Float64Array>;
}

/** One sub-folder of a checkpoint split by component (VILA: llm/, vision_tower/, mm_projector/). */
export interface ShardFolder {
  /** Folder name relative to the checkpoint directory; it holds its own config.json and safetensors. */
  folder: string;
  /** Put before every tensor name of the folder's safetensors before canonicalName sees it. */
  prefix: string;
}

/** A checkpoint laid out in sub-folders, as ModelFamily.shardPrefixes describes it. */
export interface ShardLayout {
  /** Names the checkpoint kind in layout errors (e.g. 'VILA checkpoint'). */
  name: string;
  folders: readonly ShardFolder[];
  /** The folder holding tokenizer.json (and generation_config.json), when not the top directory. */
  tokenizerFolder?: string;
}

/** A sub-folder's config.json as read by the checkpoint, by folder name (for ModelFamily.parseConfig). */
export type ShardConfigs = ReadonlyMap<string, { json: unknown; file: string }>;

export interface ModelFamily<C extends ModelConfigBase = ModelConfigBase, VisionWeights = unknown> {
  readonly name: FamilyName;
  /** config.json `model_type` values and `architectures` entries this family loads. */
  readonly modelTypes: readonly string[];
  readonly architectures: readonly string[];
  /** `shards`: each sub-folder's config.json, for families with shardPrefixes (read by Checkpoint.open). */
  parseConfig(json: unknown, file: string, shards?: ShardConfigs): C;
  /**
   * Optional: the checkpoint's tensors live in sub-folders (each with config.json and safetensors), not
   * beside config.json; Checkpoint.open reads each folder and prefixes its tensor names.
   */
  shardPrefixes?(dir: string, configJson: unknown): ShardLayout;
  /** Canonical name of an on-disk tensor name (text weights under `model.language_model.`, `lm_head.weight`), or null when foreign. */
  canonicalName(diskName: string): string | null;
  /** The on-disk name we write for a canonical name (the family's published naming). */
  diskName(canonical: string): string;
  expectedTensors(config: C): ExpectedTensor[];
  loadProcessor(dir: string, config: C, tokenizer: TextTokenizer): Promise<Processor>;
  uploadVision(up: WeightUploader, config: C): Promise<VisionWeights>;
  /** Image features [number of image tokens, text hidden] on the device, in image-token order. */
  imageFeatures(rec: Recorder, weights: VisionWeights, config: C, pixels: PixelBatch): Promise<Tensor>;
  /** The same features in float64 [image tokens, text hidden]. */
  referenceImageFeatures(model: ReferenceTensors<C>, pixels: { data: Float64Array; shape: PixelBatch['shape']; mask?: Uint8Array; grids?: PixelBatch['grids']; images?: PixelBatch['images'] }): Float64Array;
  /** Multimodal RoPE positions [3, ids.length] of a prompt whose images have these grids (families whose decoder has mrope_section). */
  ropePositions?(config: C, ids: ArrayLike<number>, grids: NonNullable<PixelBatch['grids']>): Int32Array;
}
