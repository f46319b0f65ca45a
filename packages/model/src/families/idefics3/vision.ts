// Idefics3's vision tower + connector on the GPU: the shared Idefics tower, then the pixel shuffle
// (a row permutation, below) and the modality projection (VLM_FAMILIES.md 1.3, 1.4).
import { matmul, embedding, type Recorder, type Tensor } from '@mtv/kernels';
import { temp } from '../../runtime/layers.js';
import type { PixelBatch, WeightUploader } from '../types.js';
import type { Idefics3Config } from './config.js';
import { ideficsTower, uploadIdeficsTower, type IdeficsTowerWeights } from './tower.js';
import { IDEFICS3_PROJ, IDEFICS3_VISION_PREFIX } from './weights.js';

export interface Idefics3VisionWeights {
  tower: IdeficsTowerWeights;
  /** [text hidden, vision hidden * scale^2], no bias. */
  proj: Tensor;
}

export async function uploadIdefics3Vision(up: WeightUploader, c: Idefics3Config): Promise<Idefics3VisionWeights> {
  return { tower: await uploadIdeficsTower(up, IDEFICS3_VISION_PREFIX, c.vision), proj: await up.mat(IDEFICS3_PROJ) };
}

/**
 * The pixel shuffle as a gather of rows: output token (I, J) of a side x side grid is the concatenation,
 * row offset m first then column offset k, of input patches (I*s + m, J*s + k). Viewing the output
 * [seq/s^2, D*s^2] as [seq, D] rows, row ((I*(side/s) + J)*s + m)*s + k is input row (I*s + m)*side + J*s + k.
 */
export function pixelShuffleRows(frames: number, side: number, s: number): Int32Array {
  const G = side * side;
  const out = new Int32Array(frames * G);
  const w = side / s;
  let r = 0;
  for (let f = 0; f < frames; f++)
    for (let I = 0; I < w; I++)
      for (let J = 0; J < w; J++)
        for (let m = 0; m < s; m++) for (let k = 0; k < s; k++) out[r++] = f * G + (I * s + m) * side + J * s + k;
  return out;
}

export async function idefics3ImageFeatures(rec: Recorder, w: Idefics3VisionWeights, c: Idefics3Config, pixels: PixelBatch): Promise<Tensor> {
  const t = await ideficsTower(rec, w.tower, c.vision, pixels, 'any');
  if (t.gridH !== t.gridW) throw new Error(`vision: Idefics3 frames must be square for the pixel shuffle; got a ${t.gridH}x${t.gridW} patch grid`);
  const s = c.scaleFactor;
  const D = c.vision.hiddenSize;
  const shuffled = temp(rec, await embedding(rec, t.x, pixelShuffleRows(t.frames, t.gridH, s)));
  const tokens = (t.frames * t.gridH * t.gridW) / (s * s);
  // The caller owns the features.
  return matmul(rec, shuffled.reshape([tokens, D * s * s]), w.proj);
}
