import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  COLOURS, POSITIONS, SHAPES, SIZES, PALETTE, analyseImage, boxesCentroidX, decodeRgb, encodePng, foregroundComponents, objectSide,
  positionMargin, randomImage, renderScene, shapeMask, type Scene,
} from '../src/index.js';

const key = (s: Scene): string => `${s.colour},${s.shape},${s.count},${s.position},${s.size}`;

const sceneArb = fc.record({
  colour: fc.constantFrom(...COLOURS),
  shape: fc.constantFrom(...SHAPES),
  count: fc.constantFrom(1 as const, 2 as const, 3 as const),
  position: fc.constantFrom(...POSITIONS),
  size: fc.constantFrom(...SIZES),
});

describe('toy images', () => {
  it('are deterministic in the seed, and differ between seeds', async () => {
    const a = randomImage(42);
    const b = randomImage(42);
    expect(Buffer.from(a.data).equals(Buffer.from(b.data))).toBe(true);
    expect((await encodePng(a)).equals(await encodePng(b))).toBe(true);
    const others = [43, 44, 45, 1 << 20].map((s) => randomImage(s));
    for (const o of others) expect(Buffer.from(o.data).equals(Buffer.from(a.data))).toBe(false);
  });

  it('have the [H, W, 3] layout at every size 16..32 and reject other sizes', () => {
    for (const s of [16, 21, 32]) {
      const img = randomImage(1, { imageSize: s });
      expect([img.width, img.height, img.data.length]).toEqual([s, s, s * s * 3]);
    }
    expect(() => randomImage(1, { imageSize: 12 })).toThrow(/\[16, 32\], got 12/);
    expect(() => randomImage(1, { imageSize: 33 })).toThrow(/got 33/);
  });

  // The scene is recovered from pixels alone: foreground threshold, 8-connected components
  // (count), nearest palette colour of the component means, exact shape-mask match and box side
  // (shape, size), pixel centroid vs the midline (position).
  it('show every attribute unambiguously in the pixels (random scenes, sizes, seeds)', () => {
    fc.assert(
      fc.property(sceneArb, fc.integer({ min: 16, max: 32 }), fc.nat(), (scene, s, seed) => {
        const img = renderScene(scene, seed, { imageSize: s });
        const got = analyseImage(img);
        expect(typeof got === 'string' ? got : key(got)).toBe(key(scene));
      }),
      { numRuns: 300 },
    );
  });

  it('lay out every attribute combination at every canvas size, with the centroid margin', () => {
    for (let s = 16; s <= 32; s++) {
      for (const count of [1, 2, 3] as const) {
        for (const size of SIZES) {
          for (const position of POSITIONS) {
            const scene: Scene = { colour: 'red', shape: 'square', count, size, position };
            const img = renderScene(scene, s * 100 + count, { imageSize: s });
            const off = boxesCentroidX(img.boxes) - (s - 1) / 2;
            expect(position === 'left' ? -off : off).toBeGreaterThanOrEqual(positionMargin(scene, s));
            expect(foregroundComponents(img)).toHaveLength(count);
          }
        }
      }
      expect(objectSide('small', s)).toBeLessThan(objectSide('big', s));
    }
  });

  it('keep the drawn colour close to its palette entry and the background dark', () => {
    const img = renderScene({ colour: 'purple', shape: 'square', count: 1, position: 'left', size: 'big' }, 5);
    const [c] = foregroundComponents(img);
    const dist = Math.hypot(...c!.mean.map((v, i) => v - PALETTE.purple[i]!));
    expect(dist).toBeLessThan(36); // jitter bound: 14 per channel per object, +-6 per pixel
    let bgMax = 0;
    for (let p = 0; p < img.width * img.height; p++) {
      const m = Math.max(img.data[p * 3]!, img.data[p * 3 + 1]!, img.data[p * 3 + 2]!);
      if (m < 100) bgMax = Math.max(bgMax, m);
    }
    expect(bgMax).toBeLessThanOrEqual(52);
  });

  it('noise 0 draws exact palette colours; noise 1 varies pixels within an object', () => {
    const scene: Scene = { colour: 'green', shape: 'square', count: 1, position: 'right', size: 'big' };
    const clean = renderScene(scene, 9, { noise: 0 });
    const b = clean.boxes[0]!;
    const p = (b.y * clean.width + b.x) * 3;
    expect([...clean.data.subarray(p, p + 3)]).toEqual([...PALETTE.green]);
    const noisy = renderScene(scene, 9);
    const [comp] = foregroundComponents(noisy);
    const values = new Set<number>();
    for (let y = comp!.y0; y <= comp!.y1; y++) for (let x = comp!.x0; x <= comp!.x1; x++) values.add(noisy.data[(y * noisy.width + x) * 3 + 1]!);
    expect(values.size).toBeGreaterThan(3);
  });

  it('shape masks are pairwise distinct at every object side used', () => {
    for (const n of [5, 7, 9, 11, 13, 15]) {
      const masks = SHAPES.map((s) => shapeMask(s, n).join(''));
      expect(new Set(masks).size).toBe(SHAPES.length);
    }
    expect(() => shapeMask('circle', 6)).toThrow(/odd integer >= 5, got 6/);
  });

  it('round-trip losslessly through PNG', async () => {
    const img = randomImage(7, { imageSize: 24 });
    const back = await decodeRgb(await encodePng(img));
    expect([back.width, back.height]).toEqual([24, 24]);
    expect(Buffer.from(back.data).equals(Buffer.from(img.data))).toBe(true);
  });
});
