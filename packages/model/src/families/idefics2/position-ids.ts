// Idefics2's bucketed patch position ids as current transformers computes them
// (Idefics2VisionEmbeddings.forward at f503927):
//   boundaries = arange(1/N, 1, 1/N)                       float32 (the default dtype)
//   frac_h     = arange(nb_h, dtype) / nb_h * (1 - 1e-6)   in the pixels' dtype: float32 for an fp32 model
//   bucket     = bucketize(frac, boundaries, right=True)   = the number of boundaries <= frac
// Older transformers (and the Idefics3 code the shared tower follows) used frac = arange(0, 1 - 1e-6, 1/nb)
// instead. The two disagree wherever i / nb lands on a boundary j / N: e.g. nb = 2, N = 4 gives rows
// [0, 1] here and [0, 2] there; for idefics2-8b (N = 70) any nb sharing a factor with 70 (the 34-row
// originals of 640x480 photos, for one).
import { bucketRight, torchArangeF32 } from '../idefics3/vision-reference.js';

const f32 = Math.fround;

/**
 * Position ids [gridH * gridW] of one frame's patch grid (`patchMask` 1 = valid, row-major): valid
 * patches in row-major order get bucket(row) * N + bucket(col), padded ones 0. In float32 as an fp32
 * model: i / nb is a float32 division (exact integers i, nb), times float32(1 - 1e-6) rounded once.
 */
export function idefics2PositionIds(patchMask: Uint8Array, gridH: number, gridW: number, numPatchesPerSide: number): Int32Array {
  if (patchMask.length !== gridH * gridW) throw new Error(`idefics2PositionIds: mask has ${patchMask.length} entries, grid ${gridH}x${gridW} needs ${gridH * gridW}`);
  const N = numPatchesPerSide;
  let nbH = 0;
  let nbW = 0;
  let valid = 0;
  for (let r = 0; r < gridH; r++) nbH += patchMask[r * gridW] ? 1 : 0;
  for (let c = 0; c < gridW; c++) nbW += patchMask[c] ? 1 : 0;
  for (const m of patchMask) valid += m ? 1 : 0;
  if (valid !== nbH * nbW) {
    throw new Error(`idefics2PositionIds: ${valid} valid patches do not form the ${nbH} x ${nbW} rectangle of the first row and column (torch would fail to assign them)`);
  }
  const ids = new Int32Array(gridH * gridW);
  if (valid === 0) return ids;
  const boundaries = torchArangeF32(1 / N, 1.0, 1 / N);
  const scale = f32(1 - 1e-6);
  const buckets = (nb: number): Int32Array => Int32Array.from({ length: nb }, (_, i) => bucketRight(f32(f32(i / nb) * scale), boundaries));
  const bh = buckets(nbH);
  const bw = buckets(nbW);
  let t = 0;
  for (let i = 0; i < ids.length; i++) {
    if (!patchMask[i]) continue;
    ids[i] = bh[Math.floor(t / nbW)]! * N + bw[t % nbW]!;
    t++;
  }
  return ids;
}
