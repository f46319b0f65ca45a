// Two-way classification with arbitrary labels (analog of the reference repo's Flowers/CUB/DTD
// sets). Per episode: two colour+shape classes, two nonsense label words assigned to them at
// random, and a random A/B order of the options. The answer is the option letter, as in the
// reference ("Answer with the option's letter ..."), so only the shots tie letters to classes.
import { COLOURS, SHAPES } from '../attributes.js';
import { Rng, mixSeed, toSeed } from '../rng.js';
import { randomImage } from '../scene.js';
import { checkShots, tenOf, type Episode, type EpisodeLatent, type Example, type TaskFamily, type TaskOptions, type VisualClass } from '../types.js';

export const TWO_WAY_QUESTION = 'what is the type of object in the image ?';
export const OPTION_LETTERS = ['A', 'B'] as const;

/** Label words with no prior meaning (Chan et al. 2022: labels whose meaning changes per sequence). */
export const NONSENSE_LABELS = ['dax', 'wug', 'blick', 'fep', 'zup', 'toma', 'kiki', 'bouba', 'lorp', 'mip', 'tufa', 'gazzer', 'nork', 'plim', 'vosh', 'zib'] as const;

/** All 24 colour+shape classes. */
export const VISUAL_CLASSES: readonly VisualClass[] = COLOURS.flatMap((colour) => SHAPES.map((shape) => ({ colour, shape })));

type TwoWayLatent = Extract<EpisodeLatent, { family: 'two-way' }>;

function drawLatent(r: Rng): TwoWayLatent {
  const i = r.int(0, VISUAL_CLASSES.length - 1);
  let j = r.int(0, VISUAL_CLASSES.length - 2);
  if (j >= i) j++;
  const [l0, l1] = r.shuffle(NONSENSE_LABELS).slice(0, 2) as [string, string];
  const options: [string, string] = r.chance(0.5) ? [l0, l1] : [l1, l0];
  return { family: 'two-way', classes: [VISUAL_CLASSES[i]!, VISUAL_CLASSES[j]!], labels: [l0, l1], options };
}

export function twoWayExample(seed: number, latent: TwoWayLatent, classIndex: 0 | 1, opts: TaskOptions = {}): Example {
  const image = randomImage(seed, opts, latent.classes[classIndex]);
  const label = latent.labels[classIndex];
  const answer = OPTION_LETTERS[latent.options.indexOf(label)]!;
  return { family: 'two-way', image, question: TWO_WAY_QUESTION, answer, answers: tenOf(answer), options: [...latent.options], label, classIndex };
}

function episode(seed: number, shots: number, opts: TaskOptions = {}): Episode {
  seed = toSeed(seed, 'two-way episode');
  checkShots(shots, 'two-way episode');
  const r = new Rng(mixSeed(seed, 0));
  const latent = drawLatent(r);
  const queryClass = r.int(0, 1) as 0 | 1;
  // Balanced shots (each class floor(k/2) times, the odd one random), in random order, so any
  // k >= 2 shows both classes.
  const classes: (0 | 1)[] = Array.from({ length: shots }, (_, i) => (i < Math.floor(shots / 2) ? 0 : 1));
  if (shots % 2 === 1) classes[shots - 1] = r.int(0, 1) as 0 | 1;
  const order = r.shuffle(classes);
  return {
    family: 'two-way',
    seed,
    latent,
    shots: order.map((c, i) => twoWayExample(mixSeed(seed, 2 + i), latent, c, opts)),
    query: twoWayExample(mixSeed(seed, 1), latent, queryClass, opts),
  };
}

export const twoWay: TaskFamily = {
  name: 'two-way',
  sample: (seed, opts) => episode(seed, 0, opts).query,
  episode,
  chance: () => 0.5,
};
