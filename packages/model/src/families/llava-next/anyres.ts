// The anyres geometry of LLaVA-NeXT / OneVision, in Python's arithmetic (VLM_FAMILIES.md 0.1, 3.4):
// select_best_resolution (image_processing_utils.py), get_patch_output_size, the model's crop grid,
// unpad_image, OneVision's pooled size and PyTorch's bilinear taps (align_corners=False). JS numbers
// are Python floats; int() is Math.trunc, and Python's float floor division and round(x, 7) are
// reproduced below.

/** Python's float `a // b` (CPython float_floor_div: fmod, then the quotient rounded as it does), for b > 0. */
export function pyFloorDiv(a: number, b: number): number {
  if (b === 0) throw new RangeError('float floor division by zero');
  let mod = a % b; // fmod, exact
  let div = (a - mod) / b;
  if (mod !== 0 && (b < 0) !== (mod < 0)) {
    mod += b;
    div -= 1;
  }
  if (div === 0) return 0;
  let floordiv = Math.floor(div);
  if (div - floordiv > 0.5) floordiv += 1;
  return floordiv;
}

/**
 * int(round(x, 7)) for x >= 0: round to 7 decimals (exact: a double is never halfway between two
 * 7-decimal numbers, their spacing has a factor 5^7, so toFixed's half-up never meets a tie), then truncate.
 */
export const pyIntRound7 = (x: number): number => Math.trunc(Number(x.toFixed(7)));

/**
 * select_best_resolution((h, w), pinpoints): the (H, W) that keeps the most of the image when it is
 * scaled to fit (int() of each scaled side, capped at the original area), ties to the least wasted
 * area, the first on a full tie.
 */
export function selectBestResolution(height: number, width: number, pinpoints: ReadonlyArray<readonly [number, number]>): [number, number] {
  let best: [number, number] | null = null;
  let maxEffective = 0;
  let minWasted = Infinity;
  for (const [H, W] of pinpoints) {
    const scale = Math.min(W / width, H / height);
    const dw = Math.trunc(width * scale);
    const dh = Math.trunc(height * scale);
    const effective = Math.min(dw * dh, width * height);
    const wasted = W * H - effective;
    if (effective > maxEffective || (effective === maxEffective && wasted < minWasted)) {
      maxEffective = effective;
      minWasted = wasted;
      best = [H, W];
    }
  }
  if (!best) throw new RangeError(`select_best_resolution: no pinpoint fits a ${width}x${height} image (pinpoints ${JSON.stringify(pinpoints)})`);
  return best;
}

/** get_patch_output_size: the (height, width) the image is resized to inside the target, aspect kept, long side filling it. */
export function patchOutputSize(height: number, width: number, target: readonly [number, number]): [number, number] {
  const [H, W] = target;
  const scaleW = W / width;
  const scaleH = H / height;
  if (scaleW < scaleH) return [Math.min(Math.ceil(height * scaleW), H), W];
  return [H, Math.min(Math.ceil(width * scaleH), W)];
}

/**
 * unpad_image on a feature map of curH x curW for an original (height, width): the rows [r0, r1) and
 * columns [c0, c1) kept. `padding` is removed from both sides, so the kept size is cur - 2 * padding.
 */
export function unpadRegion(height: number, width: number, curH: number, curW: number): { r0: number; r1: number; c0: number; c1: number } {
  const originalAspect = width / height;
  const currentAspect = curW / curH;
  if (originalAspect > currentAspect) {
    const newH = pyIntRound7(height * (curW / width));
    const p = Math.floor((curH - newH) / 2);
    return { r0: p, r1: curH - p, c0: 0, c1: curW };
  }
  const newW = pyIntRound7(width * (curH / height));
  const p = Math.floor((curW - newW) / 2);
  return { r0: 0, r1: curH, c0: p, c1: curW - p };
}

/**
 * OneVision's pooled size of an unpadded H x W grid: ratio = sqrt(H * W / (maxNumPatches * t^2));
 * above 1.1 the grid is interpolated to [int(H // ratio), int(W // ratio)], else kept (null).
 */
export function pooledSize(h: number, w: number, t: number, maxNumPatches: number): [number, number] | null {
  const ratio = Math.sqrt((h * w) / (maxNumPatches * t * t));
  if (!(ratio > 1.1)) return null;
  return [pyFloorDiv(h, ratio), pyFloorDiv(w, ratio)];
}

/** One output index of a 1-D linear interpolation: out = l0 * in[i0] + l1 * in[i1]. */
export interface BilinearTap {
  i0: number;
  i1: number;
  l0: number;
  l1: number;
}

/**
 * PyTorch's upsample_bilinear2d taps along one axis for align_corners=False and no scale factor
 * (UpSample.h: scale = in / out, src = max(scale * (dst + 0.5) - 0.5, 0), i0 = floor(src),
 * i1 = i0 + (i0 < in - 1), l1 = src - i0, l0 = 1 - l1), in float64 (what a float64 model computes).
 */
export function bilinearTaps(inSize: number, outSize: number): BilinearTap[] {
  const scale = inSize / outSize;
  return Array.from({ length: outSize }, (_, dst) => {
    const src = Math.max(scale * (dst + 0.5) - 0.5, 0);
    const i0 = Math.floor(src);
    const i1 = i0 + (i0 < inSize - 1 ? 1 : 0);
    const l1 = src - i0;
    return { i0, i1, l0: 1 - l1, l1 };
  });
}

export interface AnyresImage {
  /** Original image height and width (transformers' image_sizes). */
  height: number;
  width: number;
  /** Crops fed to the tower for this image: 1 (a single view: OneVision's multi-image mode) or the grid's crops + 1 (the base crop first). */
  tiles: number;
}

export interface AnyresGeometry {
  pinpoints: ReadonlyArray<readonly [number, number]>;
  /** vision image_size: the crop side in pixels, and the pixel size of one grid cell. */
  imageSize: number;
  /** Features per crop side t (image_size // patch_size); a crop gives t * t features. */
  gridSide: number;
  /** OneVision's crop budget (vision_aspect_ratio), or null: no pooling (LLaVA-NeXT). */
  maxNumPatches: number | null;
}

/** How pack_image_features lays out one image's features. */
export interface AnyresLayout {
  tiles: number;
  /** Crops per column and per row of the grid (0 for a single view). */
  cropsH: number;
  cropsW: number;
  /** The kept rows / columns of the (cropsH * t) x (cropsW * t) feature grid. */
  region: { r0: number; r1: number; c0: number; c1: number } | null;
  /** OneVision's pooled grid size, when the kept grid is over budget. */
  pooled: [number, number] | null;
  /** Rows x columns of features written, before each row's newline. */
  rows: number;
  cols: number;
  /** Feature rows of the image: t^2 (base) + rows * (cols + 1), or t^2 + 1 for a single view. */
  count: number;
}

/** The crops an image of (height, width) is cut into by anyres: the grid's plus the base crop. */
export function anyresTileCount(height: number, width: number, g: Pick<AnyresGeometry, 'pinpoints' | 'imageSize'>): number {
  const [H, W] = selectBestResolution(height, width, g.pinpoints);
  // image_size_to_num_patches: range(0, H, S) x range(0, W, S), plus the base
  return Math.ceil(H / g.imageSize) * Math.ceil(W / g.imageSize) + 1;
}

/** pack_image_features for one image (modeling_llava_next.py / modeling_llava_onevision.py). */
export function anyresLayout(img: AnyresImage, g: AnyresGeometry): AnyresLayout {
  const t = g.gridSide;
  const T = t * t;
  if (img.tiles === 1) return { tiles: 1, cropsH: 0, cropsW: 0, region: null, pooled: null, rows: 0, cols: 0, count: T + 1 };
  const [H, W] = selectBestResolution(img.height, img.width, g.pinpoints);
  const cropsH = Math.floor(H / g.imageSize); // get_anyres_image_grid_shape
  const cropsW = Math.floor(W / g.imageSize);
  if (cropsH * cropsW + 1 !== img.tiles) {
    throw new RangeError(`anyres: a ${img.width}x${img.height} image has ${img.tiles} crops, but its best resolution ${W}x${H} makes a ${cropsW}x${cropsH} grid + the base crop = ${cropsH * cropsW + 1}`);
  }
  const region = unpadRegion(img.height, img.width, cropsH * t, cropsW * t);
  let rows = region.r1 - region.r0;
  let cols = region.c1 - region.c0;
  const pooled = g.maxNumPatches === null ? null : pooledSize(rows, cols, t, g.maxNumPatches);
  if (pooled) {
    if (pooled[0] < 1 || pooled[1] < 1) {
      throw new RangeError(`anyres: a ${img.width}x${img.height} image unpads to a ${cols}x${rows} feature grid, which pools to ${pooled[1]}x${pooled[0]}; transformers cannot interpolate to an empty grid`);
    }
    [rows, cols] = pooled;
  }
  return { tiles: img.tiles, cropsH, cropsW, region, pooled, rows, cols, count: T + rows * (cols + 1) };
}
