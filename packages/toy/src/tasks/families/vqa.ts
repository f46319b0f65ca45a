// VQA with a convention (analog of VizWiz): short one-word answers, and questions that presuppose
// an object the image does not show ("what colour is the star ?") must be answered
// "unanswerable". Each example carries ten annotator answers for the official VQA metric.
import { COLOURS, SHAPES, type Scene } from '../attributes.js';
import { Rng, mixSeed, toSeed } from '../rng.js';
import { randomImage } from '../scene.js';
import { checkShots, type Episode, type Example, type TaskFamily, type TaskOptions, type VqaQuestionType } from '../types.js';

export const UNANSWERABLE = 'unanswerable';
export const DEFAULT_UNANSWERABLE_RATE = 0.4;

/** Shape words that are asked about but never drawn. */
export const ABSENT_SHAPES = ['star', 'heart'] as const;
export const PLURALS: Readonly<Record<string, string>> = { square: 'squares', circle: 'circles', triangle: 'triangles', cross: 'crosses' };

/** Answer synonyms some annotators use (the official normalisation also maps number words to digits). */
export const ANSWER_SYNONYMS: Readonly<Record<string, string>> = {
  '1': 'one', '2': 'two', '3': 'three', purple: 'violet', cross: 'plus', big: 'large', small: 'little', unanswerable: 'unsuitable',
};
/** Probability that an example has 1-3 annotators using a synonym (the other >= 7 agree, so VQA accuracy of the answer stays 1). */
export const SYNONYM_RATE = 0.3;

export const VQA_TYPES: readonly VqaQuestionType[] = ['colour-of', 'shape-of', 'count-of', 'exists', 'where', 'size-of'];
/** Types whose question can presuppose an absent object. */
export const UNANSWERABLE_TYPES: readonly VqaQuestionType[] = ['colour-of', 'shape-of', 'where', 'size-of'];
/** How many distinct answers each type has when it is answerable. */
const ANSWERABLE_SPACE: Readonly<Record<VqaQuestionType, number>> = { 'colour-of': 6, 'shape-of': 4, 'count-of': 3, exists: 2, where: 2, 'size-of': 2 };

const otherShape = (r: Rng, scene: Scene): string => r.pick([...SHAPES.filter((s) => s !== scene.shape), ...ABSENT_SHAPES]);

function question(type: VqaQuestionType, scene: Scene, answerable: boolean, r: Rng): { question: string; answer: string } {
  const shape = answerable ? scene.shape : otherShape(r, scene);
  const a = (word: string): string => (answerable ? word : UNANSWERABLE);
  switch (type) {
    case 'colour-of':
      return { question: `what colour is the ${shape} ?`, answer: a(scene.colour) };
    case 'shape-of': {
      const colour = answerable ? scene.colour : r.pick(COLOURS.filter((c) => c !== scene.colour));
      return { question: `what shape is the ${colour} object ?`, answer: a(scene.shape) };
    }
    case 'where':
      return { question: `where is the ${shape} ?`, answer: a(scene.position) };
    case 'size-of':
      return { question: `what size is the ${shape} ?`, answer: a(scene.size) };
    case 'count-of':
      return { question: `how many ${PLURALS[scene.shape]} are there ?`, answer: String(scene.count) };
    case 'exists': {
      const yes = r.chance(0.5);
      return { question: `is there a ${yes ? scene.shape : otherShape(r, scene)} ?`, answer: yes ? 'yes' : 'no' };
    }
  }
}

function annotators(answer: string, r: Rng): string[] {
  const out = Array.from({ length: 10 }, () => answer);
  const syn = ANSWER_SYNONYMS[answer];
  if (syn && r.chance(SYNONYM_RATE)) for (const i of r.shuffle([...out.keys()]).slice(0, r.int(1, 3))) out[i] = syn;
  return out;
}

function checkRate(rate: number): number {
  if (!(rate >= 0 && rate <= 1)) throw new RangeError(`vqa: unanswerableRate must be in [0, 1], got ${rate}`);
  return rate;
}

/** One VQA example; `force` pins answerability (used to show the convention in every episode). */
export function vqaExample(seed: number, opts: TaskOptions = {}, force?: boolean): Example {
  const rate = checkRate(opts.unanswerableRate ?? DEFAULT_UNANSWERABLE_RATE);
  const r = new Rng(mixSeed(seed, 2));
  const image = randomImage(seed, opts);
  const unans = r.chance(rate);
  const answerable = force ?? !unans;
  const questionType = r.pick(answerable ? VQA_TYPES : UNANSWERABLE_TYPES);
  const qa = question(questionType, image.scene, answerable, r);
  return { family: 'vqa', image, ...qa, answers: annotators(qa.answer, r), questionType, answerable };
}

/**
 * Uniform guessing over the answers a question's type can have (the type is visible in the
 * question): sum over types of P(type) / |answers of type|, where a type that can be
 * unanswerable has "unanswerable" as one more answer (when the rate is > 0).
 */
function chance(opts: TaskOptions = {}): number {
  const rate = checkRate(opts.unanswerableRate ?? DEFAULT_UNANSWERABLE_RATE);
  return VQA_TYPES.reduce((acc, t) => {
    const canUn = UNANSWERABLE_TYPES.includes(t);
    const p = (1 - rate) / VQA_TYPES.length + (canUn ? rate / UNANSWERABLE_TYPES.length : 0);
    return acc + p / (ANSWERABLE_SPACE[t] + (canUn && rate > 0 ? 1 : 0));
  }, 0);
}

function episode(seed: number, shots: number, opts: TaskOptions = {}): Episode {
  seed = toSeed(seed, 'vqa episode');
  checkShots(shots, 'vqa episode');
  const rate = checkRate(opts.unanswerableRate ?? DEFAULT_UNANSWERABLE_RATE);
  const r = new Rng(mixSeed(seed, 0));
  // With >= 2 shots, one shot is answerable and another unanswerable, so the episode shows the
  // convention (unless the rate is 0 or 1, which asks for a single kind).
  const forced = new Map<number, boolean>();
  if (shots >= 2 && rate > 0 && rate < 1) {
    const [u, a] = r.shuffle([...Array(shots).keys()]);
    forced.set(u!, false).set(a!, true);
  }
  return {
    family: 'vqa',
    seed,
    latent: { family: 'vqa', unanswerableRate: rate },
    shots: Array.from({ length: shots }, (_, i) => vqaExample(mixSeed(seed, 2 + i), opts, forced.get(i))),
    query: vqaExample(mixSeed(seed, 1), opts),
  };
}

export const vqa: TaskFamily = {
  name: 'vqa',
  sample: (seed, opts) => episode(seed, 0, opts).query,
  episode,
  chance,
};
