// Float64 reference of Idefics3's image features (Idefics3Model.get_image_features; VLM_FAMILIES.md
// 1.3, 1.4): padding frames (every value exactly 0.0) are dropped, as transformers does (keeping the
// first frame when all are padding), the pixel mask is reduced to the "any pixel valid" patch mask,
// the vision tower runs (vision-reference.ts), then the connector: pixel shuffle and the bias-free
// modality projection. Output: [kept frames * tokens per frame, text hidden], in image-token order.
//
// pixel shuffle (Idefics3Connector.pixel_shuffle), per frame X [seq, D] with h = w = sqrt(seq), s = scale:
//   view(h, w, D) -> view(h, w/s, D s) -> permute(1, 0, 2) -> reshape(w/s, h/s, D s^2) -> permute(1, 0, 2)
//   -> reshape(seq / s^2, D s^2), which is, in closed form,
//   Y[I (w/s) + J, (m s + k) D + d] = X[(I s + m) w + (J s + k), d]   for m, k < s:
// output tokens row-major over the (h/s) x (w/s) grid, channel blocks row offset m first, then column k.
import { linear } from '../../reference/math.js';
import type { PixelBatch, ReferenceTensors } from '../types.js';
import type { Idefics3Config } from './config.js';
import { idefics3PatchMask, ideficsRealFrames, referenceIdeficsVision } from './vision-reference.js';
import { IDEFICS3_PROJ, IDEFICS3_VISION_PREFIX } from './weights.js';

/** Idefics3Connector.pixel_shuffle of one frame's hidden states X [seq, D] (seq a square whose side s divides). */
export function idefics3PixelShuffle(x: Float64Array, seq: number, D: number, s: number): Float64Array {
  const side = Math.floor(Math.sqrt(seq));
  if (side * side !== seq) throw new Error(`pixel shuffle: ${seq} tokens are not a square grid (tiles must be square)`);
  if (side % s !== 0) throw new Error(`pixel shuffle: scale factor ${s} does not divide the ${side} x ${side} grid`);
  const h = side;
  const w = side;
  const ws = w / s;
  const y = new Float64Array(seq * D);
  const width = D * s * s;
  for (let I = 0; I < h / s; I++) {
    for (let J = 0; J < ws; J++) {
      const row = (I * ws + J) * width;
      for (let m = 0; m < s; m++) {
        for (let k = 0; k < s; k++) {
          const src = ((I * s + m) * w + (J * s + k)) * D;
          y.set(x.subarray(src, src + D), row + (m * s + k) * D);
        }
      }
    }
  }
  return y;
}

export function referenceIdefics3ImageFeatures(model: ReferenceTensors<Idefics3Config>, pixels: { data: Float64Array; shape: PixelBatch['shape']; mask?: Uint8Array }): Float64Array {
  const { config, tensors } = model;
  const [n, C, H, W] = pixels.shape;
  if (pixels.data.length !== n * C * H * W) throw new Error(`reference Idefics3: pixel values have ${pixels.data.length} elements, [${pixels.shape.join(', ')}] needs ${n * C * H * W}`);
  if (pixels.mask && pixels.mask.length !== n * H * W) throw new Error(`reference Idefics3: pixel mask has ${pixels.mask.length} entries, [${n}, ${H}, ${W}] needs ${n * H * W}`);
  const keep = ideficsRealFrames(pixels.data, n);
  const frame = C * H * W;
  const data = new Float64Array(keep.length * frame);
  const mask = new Uint8Array(keep.length * H * W).fill(1);
  keep.forEach((src, i) => {
    data.set(pixels.data.subarray(src * frame, (src + 1) * frame), i * frame);
    if (pixels.mask) mask.set(pixels.mask.subarray(src * H * W, (src + 1) * H * W), i * H * W);
  });
  const P = config.vision.patchSize;
  const patchMask = idefics3PatchMask(mask, keep.length, H, W, P);
  const hidden = referenceIdeficsVision(tensors, IDEFICS3_VISION_PREFIX, config.vision, { data, n: keep.length, height: H, width: W, patchMask });
  const seq = Math.floor(H / P) * Math.floor(W / P);
  const D = config.vision.hiddenSize;
  const s = config.scaleFactor;
  const tokens = seq / (s * s);
  const Dt = config.text.hiddenSize;
  const proj = tensors.get(IDEFICS3_PROJ);
  if (!proj) throw new Error(`reference: weight '${IDEFICS3_PROJ}' is not loaded`);
  const out = new Float64Array(keep.length * tokens * Dt);
  for (let i = 0; i < keep.length; i++) {
    const shuffled = idefics3PixelShuffle(hidden.subarray(i * seq * D, (i + 1) * seq * D), seq, D, s);
    out.set(linear(shuffled, tokens, proj, Dt), i * tokens * Dt);
  }
  return out;
}
