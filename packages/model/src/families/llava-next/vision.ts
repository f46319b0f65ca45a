// LLaVA-NeXT / OneVision image features on the GPU (VLM_FAMILIES.md 3.3, 3.4): the LLaVA tower and
// projector (families/llava/vision.ts) over the crops (in passes that fit the storage-binding limit),
// then pack_image_features per image as row gathers and scatters into the output:
//   - the base crop's t^2 rows first;
//   - the other crops' rows laid out as one (cropsH * t) x (cropsW * t) grid, cut to the unpadded
//     region (unpad_image);
//   - OneVision over its crop budget: bilinear down-pooling (interpolate, align_corners=False) as two
//     separable passes of "gather two rows, scale each by its per-row weight, add": along the width
//     in row-major order, then along the height over the rows gathered column-major (so the per-row
//     weights broadcast over the leading axis), the result scattered back to row-major positions;
//   - image_newline after every row (a single view: once, after its t^2 rows).
import { add, binary, embedding, scatterRows, type Recorder, type Tensor } from '@mtv/kernels';
import { temp } from '../../runtime/layers.js';
import { llavaImageFeatures, uploadLlavaVision, type LlavaVisionWeights } from '../llava/vision.js';
import type { PixelBatch, WeightUploader } from '../types.js';
import { anyresLayout, bilinearTaps, type AnyresImage, type AnyresLayout } from './anyres.js';
import { towerConfig, type LlavaNextConfig } from './config.js';
import { IMAGE_NEWLINE } from './weights.js';

export interface LlavaNextVisionWeights {
  tower: LlavaVisionWeights;
  /** image_newline as a one-row table [1, text hidden]. */
  newline: Tensor;
}

export async function uploadLlavaNextVision(up: WeightUploader, c: LlavaNextConfig): Promise<LlavaNextVisionWeights> {
  return {
    tower: await uploadLlavaVision(up, towerConfig(c)),
    newline: await up.f32(IMAGE_NEWLINE, [1, c.text.hiddenSize]),
  };
}

/** The images of a pixel batch, checked against its crop count. */
export function batchImages(pixels: { shape: PixelBatch['shape']; images?: PixelBatch['images'] }, family: string): readonly AnyresImage[] {
  const images = pixels.images;
  if (!images || images.length === 0) throw new Error(`${family}: the pixel batch has no per-image sizes (PixelBatch.images); prepare it with the ${family} processor`);
  const tiles = images.reduce((a, im) => a + im.tiles, 0);
  if (tiles !== pixels.shape[0]) throw new Error(`${family}: the images have ${tiles} crops in all but the pixel batch holds ${pixels.shape[0]}`);
  return images;
}

/** A [rows, H] table whose row r is `value(r)` everywhere: a per-row weight that broadcasts over leading axes. */
const rowWeights = (rec: Recorder, values: readonly number[], H: number, label: string): Tensor => {
  const data = new Float32Array(values.length * H);
  values.forEach((v, r) => data.fill(v, r * H, (r + 1) * H));
  return temp(rec, rec.gpu.upload(data, [values.length, H], 'f32', { label }));
};

/**
 * out[k] = l0[k % n] * x[i0[k]] + l1[k % n] * x[i1[k]] for k in [0, m * n), as [m, n, H]: one
 * interpolation pass, the weights repeating over the leading axis m.
 */
async function lerpRows(rec: Recorder, x: Tensor, i0: Int32Array, i1: Int32Array, l0: readonly number[], l1: readonly number[], m: number, H: number): Promise<Tensor> {
  const n = l0.length;
  const a = temp(rec, await embedding(rec, x, i0));
  const b = temp(rec, await embedding(rec, x, i1));
  const wa = temp(rec, await binary(rec, 'mul', a.reshape([m, n, H]), rowWeights(rec, l0, H, 'bilinear l0')));
  const wb = temp(rec, await binary(rec, 'mul', b.reshape([m, n, H]), rowWeights(rec, l1, H, 'bilinear l1')));
  return temp(rec, await add(rec, wa, wb)).reshape([m * n, H]);
}

/** Crops per tower pass: every activation of a pass, [crops * positions, width] f32, must fit one storage binding. */
export function cropsPerPass(c: LlavaNextConfig, maxBinding: number): number {
  const v = c.vision;
  const width = Math.max(v.hiddenSize, v.intermediateSize, c.text.hiddenSize, v.numChannels * v.patchSize * v.patchSize);
  return Math.max(1, Math.floor(maxBinding / (4 * v.numPositions * width)));
}

/**
 * Image features [sum of each image's token count, text hidden] of a prepared pixel batch, in
 * image-token order (the caller owns the result). The tower runs over the crops in passes that fit
 * the device's storage-binding limit (a 2304 px OneVision image is 37 crops); the projected features
 * are gathered per group of whole images whose crop features fit one binding, then packed.
 */
export async function llavaNextImageFeatures(
  rec: Recorder, w: LlavaNextVisionWeights, c: LlavaNextConfig, pixels: PixelBatch,
  /** Tests only: smaller tower passes and feature groups than the device's limit implies. */
  opts: { cropsPerPass?: number; groupBytes?: number } = {},
): Promise<Tensor> {
  const images = batchImages(pixels, c.family);
  const gpu = rec.gpu;
  const H = c.text.hiddenSize;
  const T = c.tokensPerCrop;
  const geometry = { pinpoints: c.imageGridPinpoints, imageSize: c.vision.imageSize, gridSide: c.gridSide, maxNumPatches: c.maxNumPatches };
  const layouts = images.map((im) => anyresLayout(im, geometry));
  const total = layouts.reduce((a, l) => a + l.count, 0);
  const rowBytes = 4 * H;
  if (total * rowBytes > gpu.maxBinding) {
    throw new Error(`${c.family}: the prompt's ${images.length} image(s) make ${total} feature rows of ${H} (${total * rowBytes} bytes), over the device's storage-binding limit of ${gpu.maxBinding} bytes; use fewer or smaller images`);
  }
  const [, C, Hpx, Wpx] = pixels.shape;
  const cropSize = C * Hpx * Wpx;
  const perPass = opts.cropsPerPass ?? cropsPerPass(c, gpu.maxBinding);
  const groupBytes = opts.groupBytes ?? gpu.maxBinding;
  const tower = towerConfig(c);
  /** Projected features [count * T, H] of crops [first, first + count), run in passes of perPass crops. */
  const cropFeatures = async (first: number, count: number): Promise<Tensor> => {
    const pass = (a: number, k: number): PixelBatch => ({ data: pixels.data.subarray(a * cropSize, (a + k) * cropSize), shape: [k, C, Hpx, Wpx] });
    if (count <= perPass) return temp(rec, await llavaImageFeatures(rec, w.tower, tower, pass(first, count)));
    const feats = temp(rec, gpu.empty([count * T, H], 'f32', `${c.family} crop features`));
    for (let a = 0; a < count; a += perPass) {
      const k = Math.min(perPass, count - a);
      const f = temp(rec, await llavaImageFeatures(rec, w.tower, tower, pass(first + a, k)));
      await scatterRows(rec, feats, f, Int32Array.from({ length: k * T }, (_, r) => a * T + r));
    }
    return feats;
  };

  const out = gpu.empty([total, H], 'f32', `${c.family} image features`);
  try {
    const newlineAt: number[] = [];
    let tile = 0; // first crop of the group
    let at = 0; // first output row of the group's first image
    for (let i = 0; i < layouts.length; ) {
      // a group: whole images whose crop features fit one binding (at least one image)
      let j = i;
      let crops = 0;
      while (j < layouts.length && (j === i || (crops + layouts[j]!.tiles) * T * rowBytes <= groupBytes)) crops += layouts[j++]!.tiles;
      if (crops * T * rowBytes > groupBytes) {
        throw new Error(`${c.family}: image ${i} (${images[i]!.width}x${images[i]!.height}) has ${crops} crops of ${T} features of ${H} (${crops * T * rowBytes} bytes), over the device's storage-binding limit of ${groupBytes} bytes`);
      }
      const feats = await cropFeatures(tile, crops);
      let local = 0; // first crop of the current image within the group
      for (let k = i; k < j; k++) {
        const L = layouts[k]!;
        await packImage(rec, feats, local, L, c, out, at, newlineAt);
        local += L.tiles;
        at += L.count;
      }
      tile += crops;
      i = j;
    }
    if (newlineAt.length > 0) {
      const nl = temp(rec, await embedding(rec, w.newline, new Int32Array(newlineAt.length)));
      await scatterRows(rec, out, nl, Int32Array.from(newlineAt));
    }
  } catch (e) {
    out.release();
    throw e;
  }
  return out;
}

/**
 * pack_image_features of one image whose crops start at crop `tile` of `feats`: its rows into `out`
 * from row `at`, the positions of its newlines appended to `newlineAt`.
 */
async function packImage(rec: Recorder, feats: Tensor, tile: number, L: AnyresLayout, c: LlavaNextConfig, out: Tensor, at: number, newlineAt: number[]): Promise<void> {
  const H = c.text.hiddenSize;
  const t = c.gridSide;
  const T = c.tokensPerCrop;
  // the base crop (or the single view)
  await scatterRows(rec, out, temp(rec, await embedding(rec, feats, Int32Array.from({ length: T }, (_, k) => tile * T + k))), Int32Array.from({ length: T }, (_, k) => at + k));
  if (L.region === null) {
    newlineAt.push(at + T);
    return;
  }
  if (L.rows === 0 || L.cols === 0) return;
  const { r0, r1, c0, c1 } = L.region;
  // row (gy, ty), column (gx, tx) of the grid is token ty * t + tx of crop 1 + gy * cropsW + gx
  const src = (r: number, col: number): number => (tile + 1 + Math.floor(r / t) * L.cropsW + Math.floor(col / t)) * T + (r % t) * t + (col % t);
  const pos = (i: number, j: number): number => at + T + i * (L.cols + 1) + j;
  if (!L.pooled) {
    const idx = new Int32Array(L.rows * L.cols);
    const dst = new Int32Array(L.rows * L.cols);
    for (let i = 0; i < L.rows; i++) for (let j = 0; j < L.cols; j++) {
      idx[i * L.cols + j] = src(r0 + i, c0 + j);
      dst[i * L.cols + j] = pos(i, j);
    }
    await scatterRows(rec, out, temp(rec, await embedding(rec, feats, idx)), dst);
  } else {
    const inH = r1 - r0;
    const inW = c1 - c0;
    const [oh, ow] = L.pooled;
    const tw = bilinearTaps(inW, ow);
    const th = bilinearTaps(inH, oh);
    // width pass over the unpadded grid, row-major: Y[r, j] for r < inH, j < ow
    const yi0 = new Int32Array(inH * ow);
    const yi1 = new Int32Array(inH * ow);
    for (let r = 0; r < inH; r++) for (let j = 0; j < ow; j++) {
      yi0[r * ow + j] = src(r0 + r, c0 + tw[j]!.i0);
      yi1[r * ow + j] = src(r0 + r, c0 + tw[j]!.i1);
    }
    const y = await lerpRows(rec, feats, yi0, yi1, tw.map((x) => x.l0), tw.map((x) => x.l1), inH, H);
    // height pass, column-major: Z[j, i] = l0[i] * Y[i0, j] + l1[i] * Y[i1, j]
    const zi0 = new Int32Array(ow * oh);
    const zi1 = new Int32Array(ow * oh);
    const dst = new Int32Array(ow * oh);
    for (let j = 0; j < ow; j++) for (let i = 0; i < oh; i++) {
      zi0[j * oh + i] = th[i]!.i0 * ow + j;
      zi1[j * oh + i] = th[i]!.i1 * ow + j;
      dst[j * oh + i] = pos(i, j);
    }
    const z = await lerpRows(rec, y, zi0, zi1, th.map((x) => x.l0), th.map((x) => x.l1), ow, H);
    await scatterRows(rec, out, z, dst);
  }
  for (let i = 0; i < L.rows; i++) newlineAt.push(at + T + i * (L.cols + 1) + L.cols);
}
