// Float64 reference of LLaVA-NeXT / OneVision image features, written from get_image_features and
// pack_image_features (modeling_llava_next.py, modeling_llava_onevision.py): the LLaVA tower +
// projector per crop (families/llava/reference.ts), split per image, then for an image of several
// crops
//   base = feat[0]
//   f = feat[1:].view(gh, gw, t, t, D).permute(4, 0, 2, 1, 3).flatten(1, 2).flatten(2, 3)   # [D, gh*t, gw*t]
//   f = unpad_image(f, (h, w))
//   OneVision: ratio = sqrt(H' * W' / (max_num_patches * t^2)); if ratio > 1.1:
//       f = interpolate(f[None], [int(H' // ratio), int(W' // ratio)], mode="bilinear")[0]
//   f = cat([f, image_newline[:, None, None].expand(D, H', 1)], dim=-1).flatten(1, 2).transpose(0, 1)
//   out = cat([base, f])
// and for a single view: cat([feat[0], image_newline[None]]). Tensors are kept in that [D, rows, cols]
// layout here, as the modeling code holds them.
import { weight } from '../../reference/model.js';
import type { ReferenceTensors } from '../types.js';
import { referenceLlavaImageFeatures } from '../llava/reference.js';
import { pyFloorDiv, pyIntRound7, selectBestResolution, type AnyresImage } from './anyres.js';
import { towerConfig, type LlavaNextConfig } from './config.js';
import { batchImages } from './vision.js';
import { IMAGE_NEWLINE } from './weights.js';
import type { PixelBatch } from '../types.js';

/** A channel-first feature map [D, rows, cols]. */
interface Map3 {
  d: number;
  rows: number;
  cols: number;
  data: Float64Array;
}

const at = (m: Map3, c: number, r: number, q: number): number => m.data[(c * m.rows + r) * m.cols + q]!;

/** unpad_image, verbatim: crops `padding` rows (or columns) from both sides. */
function unpadImage(m: Map3, originalHeight: number, originalWidth: number): Map3 {
  const curH = m.rows;
  const curW = m.cols;
  const originalAspect = originalWidth / originalHeight;
  const currentAspect = curW / curH;
  let r0 = 0, r1 = curH, c0 = 0, c1 = curW;
  if (originalAspect > currentAspect) {
    const scaleFactor = curW / originalWidth;
    const newHeight = pyIntRound7(originalHeight * scaleFactor);
    const padding = Math.floor((curH - newHeight) / 2);
    r0 = padding;
    r1 = curH - padding;
  } else {
    const scaleFactor = curH / originalHeight;
    const newWidth = pyIntRound7(originalWidth * scaleFactor);
    const padding = Math.floor((curW - newWidth) / 2);
    c0 = padding;
    c1 = curW - padding;
  }
  const rows = Math.max(0, r1 - r0);
  const cols = Math.max(0, c1 - c0);
  const data = new Float64Array(m.d * rows * cols);
  for (let c = 0; c < m.d; c++) for (let r = 0; r < rows; r++) for (let q = 0; q < cols; q++) data[(c * rows + r) * cols + q] = at(m, c, r0 + r, c0 + q);
  return { d: m.d, rows, cols, data };
}

/** PyTorch's source index for align_corners=False (area_pixel_compute_source_index, linear: clamped at 0). */
const sourceIndex = (scale: number, dst: number): number => Math.max(scale * (dst + 0.5) - 0.5, 0);

/** nn.functional.interpolate(x[None], [outH, outW], mode="bilinear")[0], align_corners=False, in float64. */
function interpolateBilinear(m: Map3, outH: number, outW: number): Map3 {
  const rh = m.rows / outH;
  const rw = m.cols / outW;
  const data = new Float64Array(m.d * outH * outW);
  for (let oy = 0; oy < outH; oy++) {
    const hr = sourceIndex(rh, oy);
    const h1 = Math.floor(hr);
    const h1p = h1 < m.rows - 1 ? 1 : 0;
    const h1l = hr - h1;
    const h0l = 1 - h1l;
    for (let ox = 0; ox < outW; ox++) {
      const wr = sourceIndex(rw, ox);
      const w1 = Math.floor(wr);
      const w1p = w1 < m.cols - 1 ? 1 : 0;
      const w1l = wr - w1;
      const w0l = 1 - w1l;
      for (let c = 0; c < m.d; c++) {
        data[(c * outH + oy) * outW + ox] =
          h0l * (w0l * at(m, c, h1, w1) + w1l * at(m, c, h1, w1 + w1p)) + h1l * (w0l * at(m, c, h1 + h1p, w1) + w1l * at(m, c, h1 + h1p, w1 + w1p));
      }
    }
  }
  return { d: m.d, rows: outH, cols: outW, data };
}

/** pack_image_features of one image: feats [crops, T, D] (crop-major) -> [tokens, D]. */
function packImage(c: LlavaNextConfig, feats: Float64Array, crops: number, size: { height: number; width: number }, newline: Float64Array): Float64Array {
  const D = c.text.hiddenSize;
  const t = Math.floor(c.vision.imageSize / c.vision.patchSize);
  const T = t * t;
  if (crops === 1) {
    const out = new Float64Array((T + 1) * D);
    out.set(feats.subarray(0, T * D));
    out.set(newline, T * D);
    return out;
  }
  // get_anyres_image_grid_shape(image_size, pinpoints, vision image_size)
  const [bh, bw] = selectBestResolution(size.height, size.width, c.imageGridPinpoints);
  const gh = Math.floor(bh / c.vision.imageSize);
  const gw = Math.floor(bw / c.vision.imageSize);
  if (gh * gw !== crops - 1) throw new Error(`reference: ${crops - 1} crops cannot be viewed as ${gh} x ${gw}`);
  // view(gh, gw, t, t, D).permute(4, 0, 2, 1, 3) -> [D, gh, t, gw, t] -> flatten -> [D, gh*t, gw*t]
  let m: Map3 = { d: D, rows: gh * t, cols: gw * t, data: new Float64Array(D * gh * t * gw * t) };
  for (let a = 0; a < gh; a++) for (let b = 0; b < gw; b++) for (let y = 0; y < t; y++) for (let x = 0; x < t; x++) {
    const src = ((1 + a * gw + b) * T + y * t + x) * D;
    for (let ch = 0; ch < D; ch++) m.data[(ch * m.rows + a * t + y) * m.cols + b * t + x] = feats[src + ch]!;
  }
  m = unpadImage(m, size.height, size.width);
  if (c.maxNumPatches !== null) {
    const ratio = Math.sqrt((m.rows * m.cols) / (c.maxNumPatches * t ** 2));
    if (ratio > 1.1) m = interpolateBilinear(m, pyFloorDiv(m.rows, ratio), pyFloorDiv(m.cols, ratio));
  }
  // cat newline column, flatten(1, 2).transpose(0, 1): tokens row-major, each row then its newline
  const out = new Float64Array((T + m.rows * (m.cols + 1)) * D);
  out.set(feats.subarray(0, T * D));
  let k = T;
  for (let r = 0; r < m.rows; r++) {
    for (let q = 0; q <= m.cols; q++, k++) {
      for (let ch = 0; ch < D; ch++) out[k * D + ch] = q === m.cols ? newline[ch]! : at(m, ch, r, q);
    }
  }
  return out;
}

/** The features of every image of a pixel batch, in image-token order: [tokens, text hidden]. */
export function referenceLlavaNextImageFeatures(model: ReferenceTensors<LlavaNextConfig>, pixels: { data: Float64Array; shape: PixelBatch['shape']; images?: PixelBatch['images'] }): Float64Array {
  const c = model.config;
  const images = batchImages(pixels, c.family);
  const all = referenceLlavaImageFeatures({ config: towerConfig(c), tensors: model.tensors }, pixels); // [crops * T, D]
  return referencePackImageFeatures(c, all, images, weight(model, IMAGE_NEWLINE));
}

/** pack_image_features over every image: crop features [crops * T, D] in batch order -> [tokens, D]. */
export function referencePackImageFeatures(c: LlavaNextConfig, all: Float64Array, images: readonly AnyresImage[], newline: Float64Array): Float64Array {
  const D = c.text.hiddenSize;
  const T = c.tokensPerCrop;
  const parts: Float64Array[] = [];
  let tile = 0;
  for (const im of images) {
    parts.push(packImage(c, all.subarray(tile * T * D, (tile + im.tiles) * T * D), im.tiles, im, newline));
    tile += im.tiles;
  }
  const out = new Float64Array(parts.reduce((a, p) => a + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
