// Shared types of the task families.
import type { Colour, Shape, SubTask } from './attributes.js';
import type { RenderOptions, ToyImage } from './image.js';

// Appended in this order: held-out evaluation seeds depend on a family's index.
export const FAMILIES = ['task-inference', 'two-way', 'vqa', 'noisy-task-inference'] as const;
export type FamilyName = (typeof FAMILIES)[number];

export function checkFamily(name: string): FamilyName {
  if (!(FAMILIES as readonly string[]).includes(name)) throw new RangeError(`unknown task family '${name}'; expected one of ${FAMILIES.join(', ')}`);
  return name as FamilyName;
}

/** A visual class of the two-way family: one colour+shape combination. */
export interface VisualClass {
  colour: Colour;
  shape: Shape;
}

export type VqaQuestionType = 'colour-of' | 'shape-of' | 'count-of' | 'exists' | 'where' | 'size-of';

export interface Example {
  family: FamilyName;
  image: ToyImage;
  question: string;
  /** The expected answer: always one vocabulary word. */
  answer: string;
  /** Ten annotator answers (official VQA scoring); identical to `answer` except in the VQA family. */
  answers: string[];
  /** two-way: the label words in A/B order (the prompt shows "A. {options[0]} B. {options[1]}"). */
  options?: [string, string];
  /** two-way: the label word of this image's class (the answer is its letter). */
  label?: string;
  /** two-way: index (0/1) of this image's class in the episode's `classes`. */
  classIndex?: 0 | 1;
  /** task-inference: the attribute asked; noisy-task-inference: the attribute this example is labelled by. */
  subTask?: SubTask;
  /** vqa: question type and whether the image can answer it. */
  questionType?: VqaQuestionType;
  answerable?: boolean;
}

/** The latent shared by every shot and the query of one episode. */
export type EpisodeLatent =
  | { family: 'task-inference'; subTask: SubTask }
  | { family: 'two-way'; classes: [VisualClass, VisualClass]; labels: [string, string]; options: [string, string] }
  | { family: 'vqa'; unanswerableRate: number }
  | { family: 'noisy-task-inference'; subTask: SubTask; signal: number };

export interface Episode {
  family: FamilyName;
  seed: number;
  latent: EpisodeLatent;
  shots: Example[];
  query: Example;
}

export interface TaskOptions extends RenderOptions {
  /** task-inference: fix the sub-task instead of drawing it per episode. */
  subTask?: SubTask;
  /** vqa: probability that a question cannot be answered from its image (default 0.4). */
  unanswerableRate?: number;
  /** noisy-task-inference: probability that a shot is labelled by the asked attribute (default NOISY_SIGNAL = 0.3). */
  signal?: number;
}

export interface TaskFamily {
  readonly name: FamilyName;
  /** One example: the query of a fresh episode with this seed. */
  sample(seed: number, opts?: TaskOptions): Example;
  /**
   * `shots` solved examples plus a query sharing one latent (burstiness). The query depends only
   * on (seed, opts), not on `shots`, so k-shot sweeps compare the same queries.
   */
  episode(seed: number, shots: number, opts?: TaskOptions): Episode;
  /** Accuracy of uniform guessing (see chance.ts). */
  chance(opts?: TaskOptions): number;
}

export function checkShots(shots: number, where: string): number {
  if (!Number.isInteger(shots) || shots < 0 || shots > 64) throw new RangeError(`${where}: shots must be an integer in [0, 64], got ${shots}`);
  return shots;
}

/** Ten copies of an answer: the annotator list of a family without annotator disagreement. */
export const tenOf = (answer: string): string[] => Array.from({ length: 10 }, () => answer);
