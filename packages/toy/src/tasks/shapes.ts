// Binary masks of the four shapes in an n x n box (n odd, so every shape is left-right symmetric
// and its pixel centroid is the box centre).
import type { Shape } from './attributes.js';

/** Row-major n*n mask, 1 where the shape covers the pixel. */
export function shapeMask(shape: Shape, n: number): Uint8Array {
  if (!Number.isInteger(n) || n < 5 || n % 2 === 0) throw new RangeError(`shapeMask(${shape}): side must be an odd integer >= 5, got ${n}`);
  const m = new Uint8Array(n * n);
  const c = (n - 1) / 2;
  // Arm thickness of the cross: 1 px up to n = 9, then 3 px (odd, so the arms stay centred).
  const t = n <= 9 ? 1 : 3;
  for (let y = 0; y < n; y++) {
    for (let x = 0; x < n; x++) {
      let on: boolean;
      switch (shape) {
        case 'square':
          on = true;
          break;
        case 'circle':
          // Disc of radius n/2 about the centre: cuts the corners, keeps the edge midpoints.
          on = (x - c) ** 2 + (y - c) ** 2 <= (n / 2) ** 2;
          break;
        case 'triangle':
          // Apex at the top; row y spans the centre +- floor(y/2), so the base row is full width.
          on = Math.abs(x - c) <= Math.floor(y / 2);
          break;
        case 'cross':
          on = Math.abs(x - c) <= (t - 1) / 2 || Math.abs(y - c) <= (t - 1) / 2;
          break;
      }
      m[y * n + x] = on ? 1 : 0;
    }
  }
  return m;
}
