// Drawing a random scene and rendering it: the one place every family gets its images from.
import { COLOURS, POSITIONS, SHAPES, SIZES, type Scene } from './attributes.js';
import { renderScene, type RenderOptions, type ToyImage } from './image.js';
import { Rng, mixSeed } from './rng.js';

/** Every attribute uniform and independent, except those fixed by `fixed`. */
export function randomScene(r: Rng, fixed: Partial<Scene> = {}): Scene {
  return {
    colour: fixed.colour ?? r.pick(COLOURS),
    shape: fixed.shape ?? r.pick(SHAPES),
    count: fixed.count ?? (r.int(1, 3) as 1 | 2 | 3),
    position: fixed.position ?? r.pick(POSITIONS),
    size: fixed.size ?? r.pick(SIZES),
  };
}

/** A random scene and its image, both from `seed` (the image uses a derived stream). */
export function randomImage(seed: number, opts: RenderOptions = {}, fixed: Partial<Scene> = {}): ToyImage {
  const scene = randomScene(new Rng(mixSeed(seed, 0)), fixed);
  return renderScene(scene, mixSeed(seed, 1), opts);
}
