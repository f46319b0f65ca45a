// Procedural toy images: a noisy dark background with 1-3 identical coloured shapes.
import { PALETTE, type Box, type Scene, type Size } from './attributes.js';
import { Rng } from './rng.js';
import { shapeMask } from './shapes.js';

export const DEFAULT_IMAGE_SIZE = 16;
export const MIN_IMAGE_SIZE = 16;
export const MAX_IMAGE_SIZE = 32;

/** Raw RGB image, row-major [height, width, 3], plus the scene it shows and where each object is. */
export interface ToyImage {
  width: number;
  height: number;
  data: Uint8Array;
  scene: Scene;
  boxes: Box[];
}

export interface RenderOptions {
  /** Side of the square canvas in pixels, 16..32 (default 16). */
  imageSize?: number;
  /** Scale of colour jitter and pixel noise; 0 draws exact palette colours on a flat background (default 1). */
  noise?: number;
}

const oddFloor = (x: number): number => 2 * Math.floor((x - 1) / 2) + 1;

export function checkImageSize(size: number): number {
  if (!Number.isInteger(size) || size < MIN_IMAGE_SIZE || size > MAX_IMAGE_SIZE) {
    throw new RangeError(`toy image size must be an integer in [${MIN_IMAGE_SIZE}, ${MAX_IMAGE_SIZE}], got ${size}`);
  }
  return size;
}

/**
 * Object side in pixels for a canvas of side s: small ~0.31 s, big ~0.45 s, both odd, and big
 * capped so two big objects plus a 1 px gap fit across the canvas (three must fit in an L).
 */
export function objectSide(size: Size, s: number): number {
  checkImageSize(s);
  return size === 'small' ? oddFloor(0.3125 * s + 1) : Math.min(oddFloor(0.45 * s + 1), oddFloor((s - 1) / 2));
}

/**
 * Minimum distance (pixels) between the group's pixel centroid and the vertical midline, so that
 * left/right is never a near tie. Three big objects cannot sit far from the midline (they fill
 * most of the canvas), so they get the smaller margin s/12; everything else gets s/6.
 */
export function positionMargin(scene: Pick<Scene, 'count' | 'size'>, s: number): number {
  return scene.count === 3 && scene.size === 'big' ? s / 12 : s / 6;
}

/** Horizontal pixel centroid of a set of equal boxes (all shapes are left-right symmetric). */
export function boxesCentroidX(boxes: readonly Box[]): number {
  return boxes.reduce((a, b) => a + b.x + (b.n - 1) / 2, 0) / boxes.length;
}

const MAX_LAYOUT_TRIES = 1000;

/**
 * Non-overlapping boxes (>= 1 px gap, so objects stay separate 8-connected components) whose
 * centroid is at least positionMargin() from the midline, on the scene's side. Each object is
 * drawn uniformly from the positions still free (the last one also from those meeting the
 * margin); a dead end restarts. The layout is then mirrored onto the requested side if needed.
 */
export function layoutBoxes(scene: Scene, s: number, r: Rng): Box[] {
  const n = objectSide(scene.size, s);
  const mid = (s - 1) / 2;
  const margin = positionMargin(scene, s);
  const free = (boxes: readonly Box[], x: number, y: number): boolean => boxes.every((o) => Math.abs(o.x - x) > n || Math.abs(o.y - y) > n);
  for (let attempt = 0; attempt < MAX_LAYOUT_TRIES; attempt++) {
    const boxes: Box[] = [];
    for (let k = 0; k < scene.count; k++) {
      const last = k === scene.count - 1;
      const cands: Box[] = [];
      for (let y = 0; y <= s - n; y++) {
        for (let x = 0; x <= s - n; x++) {
          if (!free(boxes, x, y)) continue;
          const b = { x, y, n };
          if (last && Math.abs(boxesCentroidX([...boxes, b]) - mid) < margin) continue;
          cands.push(b);
        }
      }
      if (cands.length === 0) break;
      boxes.push(r.pick(cands));
    }
    if (boxes.length < scene.count) continue;
    // Mirror the layout onto the requested side: the mirror of a valid layout is valid.
    const onLeft = boxesCentroidX(boxes) < mid;
    if (onLeft !== (scene.position === 'left')) for (const b of boxes) b.x = s - n - b.x;
    return boxes;
  }
  throw new Error(`layoutBoxes: no layout for ${scene.count} ${scene.size} (${n} px) objects on the ${scene.position} of a ${s}x${s} canvas after ${MAX_LAYOUT_TRIES} tries`);
}

const clampByte = (v: number): number => (v < 0 ? 0 : v > 255 ? 255 : Math.round(v));

/** Draw a scene. Deterministic in (scene, seed, options). */
export function renderScene(scene: Scene, seed: number, opts: RenderOptions = {}): ToyImage {
  const s = checkImageSize(opts.imageSize ?? DEFAULT_IMAGE_SIZE);
  const noise = opts.noise ?? 1;
  if (!(noise >= 0 && noise <= 1)) throw new RangeError(`renderScene: noise must be in [0, 1], got ${noise}`);
  const r = new Rng(seed);
  const boxes = layoutBoxes(scene, s, r);
  const data = new Uint8Array(s * s * 3);
  // Background: grey 14..40, channel tint +-6, pixel noise +-6 => every channel <= 52.
  const grey = 14 + r.int(0, 26) * noise;
  const tint = [0, 1, 2].map(() => r.int(-6, 6) * noise);
  for (let p = 0; p < s * s; p++) {
    for (let c = 0; c < 3; c++) data[p * 3 + c] = clampByte(grey + tint[c]! + r.int(-6, 6) * noise);
  }
  const mask = shapeMask(scene.shape, boxes[0]!.n);
  const base = PALETTE[scene.colour];
  for (const b of boxes) {
    // Per-object colour jitter +-14 per channel, then pixel noise +-6.
    const col = base.map((v) => v + r.int(-14, 14) * noise);
    for (let y = 0; y < b.n; y++) {
      for (let x = 0; x < b.n; x++) {
        if (!mask[y * b.n + x]) continue;
        const p = (b.y + y) * s + (b.x + x);
        for (let c = 0; c < 3; c++) data[p * 3 + c] = clampByte(col[c]! + r.int(-6, 6) * noise);
      }
    }
  }
  return { width: s, height: s, data, scene: { ...scene }, boxes };
}
