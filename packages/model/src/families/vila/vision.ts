// VILA's vision tower + projector on the GPU (VLM_FAMILIES.md 5.2): the SigLIP tower (LLaVA's pieces:
// im2col patches, the shared ViT layers) up to hidden_states[mm_vision_select_layer], before
// post_layernorm; then the MultimodalProjector. mlp_downsample's 2x2 merge is one row gather over the
// token grid (a zero row stands in for the padding of an odd grid), then LayerNorm, Linear, GELU, Linear.
import { binary, embedding, layernorm, matmul, scatterRows, type Recorder, type Tensor } from '@mtv/kernels';
import { activation, linear, temp } from '../../runtime/layers.js';
import { uploadVitLayers, vitLayer, type VitLayerWeights } from '../../runtime/vit.js';
import { im2col } from '../llava/vision.js';
import type { PixelBatch, WeightUploader } from '../types.js';
import type { VilaConfig } from './config.js';
import { VILA_PROJECTOR_PREFIX, VILA_VISION_PREFIX } from './weights.js';

interface Linear { w: Tensor; b: Tensor }

export interface VilaVisionWeights {
  /** [hidden, channels * patch * patch]: the conv weight flattened (c, ky, kx). */
  patch: Tensor;
  patchBias: Tensor;
  position: Tensor;
  layers: VitLayerWeights[];
  /** mlp_downsample: the LayerNorm over the merged 4 * hidden channels. */
  norm: { w: Tensor; b: Tensor } | null;
  /** The projector's Linears in order (GELU between consecutive ones). */
  linears: Linear[];
}

export async function uploadVilaVision(up: WeightUploader, c: VilaConfig): Promise<VilaVisionWeights> {
  const vc = c.vision;
  const V = VILA_VISION_PREFIX;
  const L = `${VILA_PROJECTOR_PREFIX}layers.`;
  const lin = async (p: string): Promise<Linear> => ({ w: await up.mat(`${p}weight`), b: await up.f32(`${p}bias`) });
  const p = c.projector;
  let norm: VilaVisionWeights['norm'] = null;
  let linears: Linear[];
  if (p.type === 'mlp_downsample') {
    norm = { w: await up.f32(`${L}1.weight`), b: await up.f32(`${L}1.bias`) };
    linears = [await lin(`${L}2.`), await lin(`${L}4.`)];
  } else if (p.type === 'linear') {
    linears = [await lin(L)];
  } else {
    linears = [];
    for (let k = 0; k < p.depth; k++) linears.push(await lin(`${L}${2 * k}.`));
  }
  return {
    patch: await up.mat(`${V}embeddings.patch_embedding.weight`, [vc.hiddenSize, vc.numChannels * vc.patchSize * vc.patchSize]),
    patchBias: await up.f32(`${V}embeddings.patch_embedding.bias`),
    position: await up.f32(`${V}embeddings.position_embedding.weight`),
    // Layers past the selected hidden state never run, so they are not uploaded.
    layers: await uploadVitLayers(up, `${V}encoder.layers.`, c.visionHiddenStateIndex),
    norm,
    linears,
  };
}

/**
 * Rows of the tower output [n * T, H] (plus one zero row at index n * T) that mlp_downsample merges, four
 * per image token. VILA1.5's DownSampleBlock (reshape to a g x g grid, zero-pad an odd bottom row and
 * right column, view / permute / view) gives merged token (i, j) of the M x M grid the channels of
 * [(2i, 2j), (2i, 2j+1), (2i+1, 2j), (2i+1, 2j+1)], and flattens the grid with j (the column pair)
 * outermost: token t = j * M + i.
 */
export function downsampleGatherRows(c: VilaConfig, n: number): Int32Array {
  const T = c.vision.numPositions;
  const g = c.grid;
  const M = c.mergedGrid;
  const first = T - c.visionTokens; // 'patch' drops token 0
  const zero = n * T;
  const rows = new Int32Array(n * M * M * 4);
  let k = 0;
  for (let img = 0; img < n; img++)
    for (let j = 0; j < M; j++)
      for (let i = 0; i < M; i++)
        for (const [r, col] of [[2 * i, 2 * j], [2 * i, 2 * j + 1], [2 * i + 1, 2 * j], [2 * i + 1, 2 * j + 1]] as const) {
          rows[k++] = r < g && col < g ? img * T + first + r * g + col : zero;
        }
  return rows;
}

/** Image features [n * imageSeqLength, text hidden] for n preprocessed images [n, C, S, S]. */
export async function vilaImageFeatures(rec: Recorder, w: VilaVisionWeights, c: VilaConfig, pixels: PixelBatch): Promise<Tensor> {
  const vc = c.vision;
  const gpu = rec.gpu;
  const n = pixels.shape[0];
  const T = vc.numPositions;
  const H = vc.hiddenSize;
  const S = vc.imageSize;
  const expected = n * vc.numChannels * S * S;
  if (pixels.data.length !== expected || pixels.shape[1] !== vc.numChannels || pixels.shape[2] !== S || pixels.shape[3] !== S) {
    throw new Error(`vila vision: pixel values are [${pixels.shape.join(', ')}] (${pixels.data.length} elements); ${n} image(s) of ${vc.numChannels}x${S}x${S} need ${expected}`);
  }
  const patches = temp(rec, gpu.upload(im2col(pixels.data, n, vc.numChannels, S, vc.patchSize), [n * T, vc.numChannels * vc.patchSize * vc.patchSize]));
  const pe = await linear(rec, patches, w.patch, w.patchBias);
  let x = temp(rec, await binary(rec, 'add', pe.reshape([n, T, H]), w.position));
  for (const L of w.layers) x = await vitLayer(rec, x, L, vc, n, T);
  x = x.reshape([n * T, H]);

  let h: Tensor;
  if (c.projector.type === 'mlp_downsample') {
    // The tower rows and one zero row (the padding of an odd grid), gathered four rows per token.
    const table = temp(rec, gpu.empty([n * T + 1, H], 'f32', 'vila downsample table'));
    await scatterRows(rec, table, x, Int32Array.from({ length: n * T }, (_, r) => r));
    await scatterRows(rec, table, temp(rec, gpu.upload(new Float32Array(H), [1, H])), [n * T]);
    const merged = temp(rec, await embedding(rec, table, downsampleGatherRows(c, n))).reshape([n * c.imageSeqLength, 4 * H]);
    h = temp(rec, await layernorm(rec, merged, w.norm!.w, w.norm!.b, c.projectorLayerNormEps));
  } else if (c.visionSelectFeature === 'patch') {
    const keep = new Int32Array(n * (T - 1));
    for (let i = 0; i < n; i++) for (let t = 1; t < T; t++) keep[i * (T - 1) + t - 1] = i * T + t;
    h = temp(rec, await embedding(rec, x, keep));
  } else h = x;
  // Linear, then (GELU, Linear) for each further layer; nn.GELU() is the exact erf GELU.
  for (let k = 0; k < w.linears.length; k++) {
    const { w: lw, b } = w.linears[k]!;
    if (k === w.linears.length - 1) {
      // The caller owns the features (they are scattered into the decoder input, then released).
      return matmul(rec, h, lw, { bias: b });
    }
    h = await activation(rec, 'gelu', await linear(rec, h, lw, b));
  }
  throw new Error('vila vision: the projector has no Linear layer');
}
