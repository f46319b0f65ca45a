// config.json of a VILA-1.5 checkpoint (model_type llava_llama, architectures LlavaLlamaModel) -> VilaConfig.
// VILA builds each component from its own sub-folder (llm/, vision_tower/, mm_projector/, each with a
// config.json); the top config.json repeats them as llm_cfg / vision_tower_cfg / mm_projector_cfg and
// holds the multimodal fields (VLM_FAMILIES.md 5.1; NVlabs/VILA llava/model/llava_arch.py init_vlm,
// multimodal_encoder/builder.py, multimodal_projector/base_projector.py). What we cannot run is refused by name.
import { ConfigError, Fields, isObject } from '../../config/fields.js';
import { parseTextConfig } from '../../config/text.js';
import type { VisionConfig } from '../../config/types.js';
import { parseVisionConfig } from '../../config/vision.js';
import type { ModelConfigBase, ShardConfigs } from '../types.js';

export const VILA_MODEL_TYPES: readonly string[] = ['llava_llama'];
export const VILA_ARCHITECTURES: readonly string[] = ['LlavaLlamaModel'];

/**
 * The projector (MultimodalProjector): mlp_downsample = DownSampleBlock (2x2 token merge), LayerNorm,
 * Linear, GELU, Linear; linear = one Linear; mlpNx_gelu = N Linears with GELU between.
 */
export type VilaProjector = { type: 'mlp_downsample' } | { type: 'linear' } | { type: 'mlp_gelu'; depth: number };

/** How an image becomes square before the SigLIP processor (VILA mm_utils.process_image). */
export type VilaAspectRatio = 'resize' | 'pad' | 'processor';

export interface VilaConfig extends ModelConfigBase {
  family: 'vila';
  vision: VisionConfig;
  /** mm_vision_select_layer as written (VILA1.5: -2). */
  visionSelectLayer: number;
  /** Index into the vision hidden_states tuple (0 = embeddings); also the number of layers run. */
  visionHiddenStateIndex: number;
  /** cls_patch keeps every token (SigLIP has no class token); patch drops the first. */
  visionSelectFeature: 'cls_patch' | 'patch';
  /** Tokens per image out of the tower after selection. */
  visionTokens: number;
  projector: VilaProjector;
  /** mlp_downsample: the side of the token grid (int(sqrt(visionTokens))) and of the merged grid. */
  grid: number;
  mergedGrid: number;
  /** Image tokens (feature rows) per image, after the projector. */
  imageSeqLength: number;
  imageAspectRatio: VilaAspectRatio;
  /** LayerNorm eps of mlp_downsample (nn.LayerNorm's default). */
  projectorLayerNormEps: number;
}

const fail = (file: string, field: string, message: string): never => {
  throw new ConfigError(file, field, message);
};

/** A component's config: its sub-folder's config.json when the checkpoint gave it, else the top-level copy. */
function partFields(top: Fields, folder: string, key: string, shards: ShardConfigs | undefined): Fields {
  const part = shards?.get(folder);
  if (part) {
    if (!isObject(part.json)) fail(part.file, '(root)', `expected a JSON object, got ${JSON.stringify(part.json)}`);
    return new Fields(part.file, part.json as Record<string, unknown>);
  }
  const v = top.obj[key];
  if (typeof v === 'string') top.fail(key, `names a path (${JSON.stringify(v)}); open the checkpoint directory so ${folder}/config.json is read`);
  const f = top.sub(key);
  if (!f) top.fail(key, `missing (VILA keeps the ${folder} config here and in ${folder}/config.json)`);
  return f;
}

function architecture(f: Fields, allowed: readonly string[], what: string): void {
  const arch = f.obj['architectures'];
  if (arch === undefined || arch === null) return;
  if (!Array.isArray(arch) || !arch.some((a) => allowed.includes(String(a)))) {
    f.fail('architectures', `unsupported ${what} ${JSON.stringify(arch)} (supported: ${allowed.join(', ')})`);
  }
}

function parseProjector(f: Fields): VilaProjector {
  if (f.has('model_type') && f.str('model_type', '') !== 'v2l_projector') f.fail('model_type', `unsupported projector model type ${JSON.stringify(f.obj['model_type'])} (supported: v2l_projector)`);
  const type = f.str('mm_projector_type', '');
  if (type === 'mlp_downsample') return { type };
  if (type === 'linear') return { type };
  const m = /^mlp(\d+)x_gelu$/.exec(type);
  if (m && Number(m[1]) >= 1) return { type: 'mlp_gelu', depth: Number(m[1]) };
  return f.fail('mm_projector_type', `projector ${JSON.stringify(type)} is not supported (supported: mlp_downsample, linear, mlp<N>x_gelu)`);
}

/** Parses a VILA top-level config.json; `shards` holds llm/, vision_tower/ and mm_projector/ config.json when read from a checkpoint. */
export function parseVilaConfig(json: unknown, file = 'config.json', shards?: ShardConfigs): VilaConfig {
  if (!isObject(json)) throw new ConfigError(file, '(root)', `expected a JSON object, got ${Array.isArray(json) ? 'an array' : JSON.stringify(json)}`);
  const f = new Fields(file, json);
  if (f.has('model_type') && !VILA_MODEL_TYPES.includes(f.str('model_type', ''))) f.fail('model_type', `unsupported model type ${JSON.stringify(json['model_type'])} (supported: ${VILA_MODEL_TYPES.join(', ')})`);
  architecture(f, VILA_ARCHITECTURES, 'architecture');

  // Options VILA1.5 checkpoints do not use and we do not run.
  if (f.bool('s2', false)) f.fail('s2', 'S2 multi-scale vision features are not supported');
  if (f.has('dynamic_s2') && f.bool('dynamic_s2', false)) f.fail('dynamic_s2', 'dynamic S2 tiling (NVILA) is not supported');
  if (f.bool('mm_use_im_start_end', false)) f.fail('mm_use_im_start_end', 'image start/end tokens are not supported (VILA1.5 checkpoints set it false)');
  const vres = f.int('vision_resolution', -1, -Infinity);
  const llmF = partFields(f, 'llm', 'llm_cfg', shards);
  const visionF = partFields(f, 'vision_tower', 'vision_tower_cfg', shards);
  const projF = partFields(f, 'mm_projector', 'mm_projector_cfg', shards);

  architecture(llmF, ['LlamaForCausalLM'], 'language model architecture');
  const { tie, ...text } = parseTextConfig(llmF, ['llama']);

  architecture(visionF, ['SiglipVisionModel'], 'vision tower architecture');
  const vision = parseVisionConfig(visionF, ['siglip_vision_model']);
  if (vres !== -1 && vres !== vision.imageSize) f.fail('vision_resolution', `${vres} differs from the tower's image_size ${vision.imageSize}: resizing position embeddings is not supported`);
  if (f.has('mm_hidden_size') && f.positive('mm_hidden_size', 0) !== vision.hiddenSize) {
    f.fail('mm_hidden_size', `${json['mm_hidden_size']} differs from the vision tower's hidden_size ${vision.hiddenSize}`);
  }
  if (f.has('hidden_size') && f.positive('hidden_size', 0) !== text.hiddenSize) {
    f.fail('hidden_size', `${json['hidden_size']} differs from the language model's hidden_size ${text.hiddenSize}`);
  }

  const visionSelectLayer = f.int('mm_vision_select_layer', -2, -Infinity);
  const nStates = vision.numLayers + 1;
  if (visionSelectLayer < -nStates || visionSelectLayer >= nStates) f.fail('mm_vision_select_layer', `${visionSelectLayer} is outside the ${nStates} vision hidden states (-${nStates}..${nStates - 1})`);
  const visionHiddenStateIndex = visionSelectLayer < 0 ? nStates + visionSelectLayer : visionSelectLayer;
  const visionSelectFeature = f.oneOf<'cls_patch' | 'patch'>('mm_vision_select_feature', 'patch', ['cls_patch', 'patch']);
  const visionTokens = vision.numPositions - (visionSelectFeature === 'patch' ? 1 : 0);

  const projector = parseProjector(projF);
  const side = Math.floor(Math.sqrt(visionTokens));
  let imageSeqLength = visionTokens;
  let mergedGrid = side;
  if (projector.type === 'mlp_downsample') {
    // DownSampleBlock reshapes the tokens to int(sqrt(n)) x int(sqrt(n)): only a square grid works.
    if (side * side !== visionTokens) f.fail('mm_vision_select_feature', `'${visionSelectFeature}' leaves ${visionTokens} vision tokens, not a square grid, which mlp_downsample cannot merge`);
    mergedGrid = Math.ceil(side / 2); // odd grids get a zero row and column first
    imageSeqLength = mergedGrid * mergedGrid;
  }

  const ar = json['image_aspect_ratio'];
  let imageAspectRatio: VilaAspectRatio;
  if (ar === undefined || ar === null) imageAspectRatio = 'processor';
  else if (ar === 'resize' || ar === 'pad') imageAspectRatio = ar;
  else imageAspectRatio = f.fail('image_aspect_ratio', `${JSON.stringify(ar)} is not supported (supported: resize, pad, or absent for the SigLIP processor alone)`);

  return {
    family: 'vila',
    text,
    vision,
    visionSelectLayer,
    visionHiddenStateIndex,
    visionSelectFeature,
    visionTokens,
    projector,
    grid: side,
    mergedGrid,
    imageSeqLength,
    imageAspectRatio,
    projectorLayerNormEps: 1e-5,
    // VILA splices features in place of a -200 sentinel. Our prompt has one id per feature row, and an
    // id past the text vocabulary can never be a real token: its rows are replaced before any lookup.
    imageTokenIndex: text.vocabSize,
    tieWordEmbeddings: tie,
  };
}
