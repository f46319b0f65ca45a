// Reads a toy image back from its pixels alone (no access to the scene): foreground threshold,
// 8-connected components, nearest palette colour, box side and exact shape-mask match. Used by
// the tests to check that every drawn attribute is recoverable, and handy as an oracle baseline.
import { COLOURS, PALETTE, SHAPES, type Colour, type Scene, type Shape } from './attributes.js';
import { objectSide, type ToyImage } from './image.js';
import { shapeMask } from './shapes.js';

/** A pixel is foreground when its largest channel is >= this (background <= 52, palette >= 160 - 20). */
export const FOREGROUND_THRESHOLD = 100;

export interface Component {
  /** Bounding box. */
  x0: number;
  y0: number;
  x1: number;
  y1: number;
  pixels: number;
  /** Mean RGB over the component's pixels. */
  mean: [number, number, number];
  /** Row-major mask over the bounding box. */
  mask: Uint8Array;
}

export function foregroundComponents(img: ToyImage): Component[] {
  const { width: w, height: h, data } = img;
  const fg = new Uint8Array(w * h);
  for (let p = 0; p < w * h; p++) fg[p] = Math.max(data[p * 3]!, data[p * 3 + 1]!, data[p * 3 + 2]!) >= FOREGROUND_THRESHOLD ? 1 : 0;
  const label = new Int32Array(w * h).fill(-1);
  const comps: Component[] = [];
  for (let start = 0; start < w * h; start++) {
    if (!fg[start] || label[start]! >= 0) continue;
    const id = comps.length;
    const stack = [start];
    const members: number[] = [];
    label[start] = id;
    while (stack.length) {
      const p = stack.pop()!;
      members.push(p);
      const px = p % w;
      const py = (p - px) / w;
      for (let dy = -1; dy <= 1; dy++) {
        for (let dx = -1; dx <= 1; dx++) {
          const qx = px + dx;
          const qy = py + dy;
          if (qx < 0 || qy < 0 || qx >= w || qy >= h) continue;
          const q = qy * w + qx;
          if (fg[q] && label[q]! < 0) {
            label[q] = id;
            stack.push(q);
          }
        }
      }
    }
    let x0 = w, y0 = h, x1 = -1, y1 = -1;
    const sum = [0, 0, 0];
    for (const p of members) {
      const px = p % w;
      const py = (p - px) / w;
      x0 = Math.min(x0, px); x1 = Math.max(x1, px);
      y0 = Math.min(y0, py); y1 = Math.max(y1, py);
      for (let c = 0; c < 3; c++) sum[c]! += data[p * 3 + c]!;
    }
    const bw = x1 - x0 + 1;
    const mask = new Uint8Array(bw * (y1 - y0 + 1));
    for (const p of members) mask[(Math.floor(p / w) - y0) * bw + (p % w) - x0] = 1;
    const n = members.length;
    comps.push({ x0, y0, x1, y1, pixels: n, mean: [sum[0]! / n, sum[1]! / n, sum[2]! / n], mask });
  }
  return comps;
}

export function nearestColour(rgb: readonly number[]): Colour {
  let best: Colour = COLOURS[0];
  let bestD = Infinity;
  for (const c of COLOURS) {
    const d = PALETTE[c].reduce((a, v, i) => a + (v - rgb[i]!) ** 2, 0);
    if (d < bestD) [best, bestD] = [c, d];
  }
  return best;
}

/** The shape whose mask equals the component's mask exactly, or null. */
export function matchShape(comp: Component): Shape | null {
  const n = comp.x1 - comp.x0 + 1;
  if (n !== comp.y1 - comp.y0 + 1 || n < 5 || n % 2 === 0) return null;
  for (const s of SHAPES) {
    const m = shapeMask(s, n);
    if (m.every((v, i) => v === comp.mask[i])) return s;
  }
  return null;
}

/** The scene recovered from pixels, or an error string naming what could not be read. */
export function analyseImage(img: ToyImage): Scene | string {
  const comps = foregroundComponents(img);
  if (comps.length < 1 || comps.length > 3) return `found ${comps.length} objects, expected 1-3`;
  const colours = new Set(comps.map((c) => nearestColour(c.mean)));
  const shapes = new Set(comps.map(matchShape));
  const sides = new Set(comps.map((c) => c.x1 - c.x0 + 1));
  if (colours.size !== 1) return `objects have different colours: ${[...colours].join(', ')}`;
  if (shapes.size !== 1 || shapes.has(null)) return `objects do not match one shape: ${[...shapes].join(', ')}`;
  if (sides.size !== 1) return `objects have different sides: ${[...sides].join(', ')}`;
  const side = [...sides][0]!;
  const s = img.width;
  const size = side === objectSide('small', s) ? 'small' : side === objectSide('big', s) ? 'big' : null;
  if (!size) return `object side ${side} px is neither small (${objectSide('small', s)}) nor big (${objectSide('big', s)})`;
  let cx = 0;
  let total = 0;
  for (const c of comps) {
    const bw = c.x1 - c.x0 + 1;
    c.mask.forEach((v, i) => {
      if (v) cx += c.x0 + (i % bw);
    });
    total += c.pixels;
  }
  return {
    colour: [...colours][0]!,
    shape: [...shapes][0]!,
    count: comps.length as 1 | 2 | 3,
    position: cx / total < (s - 1) / 2 ? 'left' : 'right',
    size,
  };
}
