// LLaVA's vision tower (CLIP or SigLIP) + projector on the GPU: pixels -> image features in the
// decoder's hidden size, one row per image token (VLM_FORMATS.md 1.5, 2).
import { binary, embedding, layernorm, matmul, scatterRows, type Recorder, type Tensor } from '@mtv/kernels';
import { activation, linear, temp } from '../../runtime/layers.js';
import { uploadVitLayers, vitLayer, type VitLayerWeights } from '../../runtime/vit.js';
import type { PixelBatch, WeightUploader } from '../types.js';
import type { LlavaConfig } from './config.js';
import { PROJECTOR_PREFIX, VISION_PREFIX } from './weights.js';

export interface LlavaVisionWeights {
  /** [hidden, channels * patch * patch]: the conv weight flattened (c, ky, kx). */
  patch: Tensor;
  patchBias: Tensor | null;
  classEmbedding: Float32Array | null;
  position: Tensor;
  preLnW: Tensor | null; preLnB: Tensor | null;
  layers: VitLayerWeights[];
  projector: { w1: Tensor; b1: Tensor | null; w2: Tensor; b2: Tensor | null };
}

export async function uploadLlavaVision(up: WeightUploader, c: LlavaConfig): Promise<LlavaVisionWeights> {
  const vc = c.vision;
  const V = VISION_PREFIX;
  const opt = async (name: string): Promise<Tensor | null> => (up.has(name) ? up.f32(name) : null);
  const patchK = vc.numChannels * vc.patchSize * vc.patchSize;
  return {
    patch: await up.mat(`${V}embeddings.patch_embedding.weight`, [vc.hiddenSize, patchK]),
    patchBias: vc.patchBias ? await up.f32(`${V}embeddings.patch_embedding.bias`) : null,
    classEmbedding: vc.classToken ? await up.readF32(`${V}embeddings.class_embedding`) : null,
    position: await up.f32(`${V}embeddings.position_embedding.weight`),
    preLnW: vc.preLayerNorm ? await up.f32(`${V}pre_layrnorm.weight`) : null,
    preLnB: vc.preLayerNorm ? await up.f32(`${V}pre_layrnorm.bias`) : null,
    // Layers past the selected hidden state are never run, so they are not uploaded.
    layers: await uploadVitLayers(up, `${V}encoder.layers.`, c.visionHiddenStateIndex),
    projector: {
      w1: await up.mat(`${PROJECTOR_PREFIX}linear_1.weight`),
      b1: await opt(`${PROJECTOR_PREFIX}linear_1.bias`),
      w2: await up.mat(`${PROJECTOR_PREFIX}linear_2.weight`),
      b2: await opt(`${PROJECTOR_PREFIX}linear_2.bias`),
    },
  };
}

/** Patches of N images [N, C, H, W] as rows [N * gh * gw, C * p * p], each flattened (c, ky, kx) like the conv weight. */
export function im2col(pixels: Float32Array, n: number, c: number, size: number, patch: number, width = size): Float32Array {
  const gh = Math.floor(size / patch); // the conv is "valid": remainder pixels are dropped
  const gw = Math.floor(width / patch);
  const k = c * patch * patch;
  const out = new Float32Array(n * gh * gw * k);
  for (let i = 0; i < n; i++)
    for (let py = 0; py < gh; py++)
      for (let px = 0; px < gw; px++) {
        const row = ((i * gh + py) * gw + px) * k;
        for (let ch = 0; ch < c; ch++)
          for (let ky = 0; ky < patch; ky++) {
            const src = ((i * c + ch) * size + py * patch + ky) * width + px * patch;
            out.set(pixels.subarray(src, src + patch), row + (ch * patch + ky) * patch);
          }
      }
  return out;
}

/**
 * Image features [N * imageSeqLength, textHidden] for N preprocessed images [N, C, S, S]. Runs the
 * tower up to the configured hidden state, selects tokens ('default' drops the class token) and
 * applies the projector.
 */
export async function llavaImageFeatures(rec: Recorder, w: LlavaVisionWeights, c: LlavaConfig, pixels: PixelBatch): Promise<Tensor> {
  const vc = c.vision;
  const gpu = rec.gpu;
  const n = pixels.shape[0];
  const P = vc.numPatches;
  const T = vc.numPositions;
  const H = vc.hiddenSize;
  const expected = n * vc.numChannels * vc.imageSize * vc.imageSize;
  if (pixels.data.length !== expected || pixels.shape[2] !== vc.imageSize || pixels.shape[3] !== vc.imageSize) {
    throw new Error(`vision: pixel values are [${pixels.shape.join(', ')}] (${pixels.data.length} elements); ${n} image(s) of ${vc.numChannels}x${vc.imageSize}x${vc.imageSize} need ${expected}`);
  }
  const patches = temp(rec, gpu.upload(im2col(pixels.data, n, vc.numChannels, vc.imageSize, vc.patchSize), [n * P, vc.numChannels * vc.patchSize * vc.patchSize]));
  const pe = await linear(rec, patches, w.patch, w.patchBias);
  let x = pe;
  if (w.classEmbedding) {
    // rows of image i: [class token, patch 0 .. patch P-1]
    const emb = temp(rec, gpu.empty([n * T, H], 'f32', 'vision embeddings'));
    const patchRows = new Int32Array(n * P);
    const clsRows = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      clsRows[i] = i * T;
      for (let p = 0; p < P; p++) patchRows[i * P + p] = i * T + 1 + p;
    }
    const cls = new Float32Array(n * H);
    for (let i = 0; i < n; i++) cls.set(w.classEmbedding, i * H);
    await scatterRows(rec, emb, pe, patchRows);
    await scatterRows(rec, emb, temp(rec, gpu.upload(cls, [n, H])), clsRows);
    x = emb;
  }
  x = temp(rec, await binary(rec, 'add', x.reshape([n, T, H]), w.position));
  if (w.preLnW && w.preLnB) x = temp(rec, await layernorm(rec, x, w.preLnW, w.preLnB, vc.layerNormEps));
  for (const L of w.layers) x = await vitLayer(rec, x, L, vc, n, T);
  x = x.reshape([n * T, H]);
  if (c.visionFeatureSelectStrategy === 'default') {
    // drop token 0 of every image (the class token for CLIP)
    const keep = new Int32Array(n * (T - 1));
    for (let i = 0; i < n; i++) for (let t = 1; t < T; t++) keep[i * (T - 1) + t - 1] = i * T + t;
    x = temp(rec, await embedding(rec, x, keep));
  }
  const p1 = await activation(rec, c.projectorHiddenAct, await linear(rec, x, w.projector.w1, w.projector.b1));
  // The caller owns the features (they are scattered into the decoder input, then released).
  return matmul(rec, p1, w.projector.w2, w.projector.b2 ? { bias: w.projector.b2 } : {});
}
