// The Idefics vision tower on the GPU (Idefics3 and Idefics2 share it; VLM_FAMILIES.md 1.3, 2.3):
// drop all-zero padding frames, patch embeddings over each frame's H/P x W/P grid, bucketed position
// ids for partly padded frames, SigLIP layers whose keys are the frame's valid patches only, then
// post_layernorm. Returns the features of every kept frame's grid (padded patches included, as in
// transformers) with the patch mask, so a connector can mask them too.
import { attention, binary, embedding, layernorm, scatterRows, type Recorder, type Tensor } from '@mtv/kernels';
import type { VisionConfig } from '../../config/types.js';
import { linear, temp } from '../../runtime/layers.js';
import { uploadVitLayers, vitLayer, type VitAttention, type VitLayerWeights } from '../../runtime/vit.js';
import { im2col } from '../llava/vision.js';
import type { PixelBatch, WeightUploader } from '../types.js';
import { bucketedPositionIds, ideficsPatchMask, ideficsRealFrames } from './vision-reference.js';

export interface IdeficsTowerWeights {
  /** [hidden, channels * patch * patch]: the conv weight flattened (c, ky, kx). */
  patch: Tensor;
  patchBias: Tensor;
  /** [patchesPerSide^2, hidden] */
  position: Tensor;
  layers: VitLayerWeights[];
  postLnW: Tensor;
  postLnB: Tensor;
}

export async function uploadIdeficsTower(up: WeightUploader, prefix: string, vc: VisionConfig): Promise<IdeficsTowerWeights> {
  const patchK = vc.numChannels * vc.patchSize * vc.patchSize;
  return {
    patch: await up.mat(`${prefix}embeddings.patch_embedding.weight`, [vc.hiddenSize, patchK]),
    patchBias: await up.f32(`${prefix}embeddings.patch_embedding.bias`),
    position: await up.f32(`${prefix}embeddings.position_embedding.weight`),
    layers: await uploadVitLayers(up, `${prefix}encoder.layers.`, vc.numLayers),
    postLnW: await up.f32(`${prefix}post_layernorm.weight`),
    postLnB: await up.f32(`${prefix}post_layernorm.bias`),
  };
}

export interface TowerOutput {
  /** [frames * gridH * gridW, hidden], owned by the caller's recorder (released after submit). */
  x: Tensor;
  frames: number;
  gridH: number;
  gridW: number;
  /** [frames, gridH, gridW]: 1 where the patch is valid. */
  patchMask: Uint8Array;
  /** Indices of the valid patches of each frame, within the frame. */
  valid: Int32Array[];
}

/** The kept frames of a batch: their pixels and pixel mask, contiguous. */
function selectFrames(p: PixelBatch, keep: readonly number[]): { data: Float32Array; mask: Uint8Array } {
  const [, c, h, w] = p.shape;
  const size = c * h * w;
  const data = new Float32Array(keep.length * size);
  const mask = new Uint8Array(keep.length * h * w);
  keep.forEach((f, i) => {
    data.set(p.data.subarray(f * size, (f + 1) * size), i * size);
    if (p.mask) mask.set(p.mask.subarray(f * h * w, (f + 1) * h * w), i * h * w);
    else mask.fill(1, i * h * w, (i + 1) * h * w);
  });
  return { data, mask };
}

/** A frame's position ids [gridH * gridW] from its patch mask (each family's own bucketing; see the references). */
export type PositionIds = (patchMask: Uint8Array, gridH: number, gridW: number, patchesPerSide: number) => Int32Array;

/**
 * `rule`: a patch is valid when any (Idefics3) or all (Idefics2) of its pixels are real. `positionIds`
 * defaults to Idefics3's bucketing.
 */
export async function ideficsTower(rec: Recorder, w: IdeficsTowerWeights, vc: VisionConfig, pixels: PixelBatch, rule: 'any' | 'all', positionIds: PositionIds = bucketedPositionIds): Promise<TowerOutput> {
  const gpu = rec.gpu;
  const [, C, Hp, Wp] = pixels.shape;
  if (C !== vc.numChannels) throw new Error(`vision: pixel values have ${C} channels; the tower takes ${vc.numChannels}`);
  const keep = ideficsRealFrames(pixels.data, pixels.shape[0]);
  const n = keep.length;
  const P = vc.patchSize;
  const gridH = Math.floor(Hp / P);
  const gridW = Math.floor(Wp / P);
  const G = gridH * gridW;
  const side = Math.floor(vc.imageSize / P);
  const { data, mask } = selectFrames(pixels, keep);
  const patchMask = ideficsPatchMask(mask, n, Hp, Wp, P, rule);

  const patches = temp(rec, gpu.upload(im2col(data, n, C, Hp, P, Wp), [n * G, C * P * P]));
  const pe = await linear(rec, patches, w.patch, w.patchBias);
  const ids = new Int32Array(n * G);
  const valid: Int32Array[] = [];
  for (let i = 0; i < n; i++) {
    const m = patchMask.subarray(i * G, (i + 1) * G);
    ids.set(positionIds(m, gridH, gridW, side), i * G);
    const v: number[] = [];
    m.forEach((ok, j) => ok && v.push(j));
    valid.push(Int32Array.from(v));
  }
  const pos = temp(rec, await embedding(rec, w.position, ids));
  let x = temp(rec, await binary(rec, 'add', pe, pos));

  const heads = vc.numHeads;
  const D = vc.headDim;
  const H = vc.hiddenSize;
  const allValid = valid.every((v) => v.length === G);
  if (valid.some((v) => v.length === 0)) throw new Error('vision: a frame has no valid patch (its pixel mask covers less than one patch)');
  // Padded patches are masked out of the keys (transformers' additive finfo.min mask); each frame
  // attends over its own valid patches, so frames run one by one when any is padded.
  // Row indices of each frame and of its valid patches, the same for every layer.
  const frameRows = Array.from({ length: n }, (_, i) => Int32Array.from({ length: G }, (_, j) => i * G + j));
  const frameKeys = valid.map((v, i) => v.map((j) => i * G + j));
  const masked: VitAttention = async (r, q, k, v) => {
    const out = temp(r, gpu.empty([n * G, H], 'f32', 'idefics masked attention'));
    for (let i = 0; i < n; i++) {
      const rows = frameRows[i]!;
      const keys = frameKeys[i]!;
      const qi = temp(r, await embedding(r, q, rows));
      const ki = temp(r, await embedding(r, k, keys));
      const vi = temp(r, await embedding(r, v, keys));
      const o = temp(r, await attention(r, { q: qi.reshape([1, G, heads, D]), kSuf: ki.reshape([1, keys.length, heads, D]), vSuf: vi.reshape([1, keys.length, heads, D]), causal: false }));
      await scatterRows(r, out, o.reshape([G, H]), rows);
    }
    return out;
  };
  for (const L of w.layers) x = await vitLayer(rec, x, L, vc, n, G, allValid ? undefined : masked);
  x = temp(rec, await layernorm(rec, x.reshape([n * G, H]), w.postLnW, w.postLnB, vc.layerNormEps));
  return { x, frames: n, gridH, gridW, patchMask, valid };
}
