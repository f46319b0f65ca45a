// Noisy task inference: the many-shot family. As in task inference the question is always
// "what ?" and the episode's latent is the attribute it asks for (colour, shape, count, position
// or size), but each shot is labelled by that attribute only with probability `signal`
// (NOISY_SIGNAL = 0.3 by default) and otherwise by one of the four other attributes, uniformly.
// The query is always labelled by the episode's attribute.
//
// Why evidence must be pooled: a shot's label word names its attribute (the sub-tasks' answer
// words are disjoint), so k shots give k draws from (0.3, 0.175, 0.175, 0.175, 0.175). The best any
// reader can do is the plurality of the labels' attributes, and its accuracy rises slowly with k:
// about 30 % at 1 shot, 52 % at 16, 80 % at 62 (all that fit in the demo model's 512-token
// context) and above 99 % from about 256 shots (`pluralityAccuracy`, and `test/tasks-noisy.test.ts`
// measures the rate on generated data).
import { SUB_TASKS, SUB_TASK_ANSWERS, attributeWord, type SubTask } from '../attributes.js';
import { Rng, mixSeed, toSeed } from '../rng.js';
import { randomImage } from '../scene.js';
import { checkShots, tenOf, type Episode, type Example, type TaskFamily, type TaskOptions } from '../types.js';
import { TASK_INFERENCE_QUESTION } from './task-inference.js';

/** Probability that a shot is labelled by the episode's attribute (the rest is spread evenly over the other four). */
export const NOISY_SIGNAL = 0.3;

function checkSignal(signal: number): number {
  if (!(signal >= 0 && signal <= 1)) throw new RangeError(`noisy-task-inference: signal must be a probability in [0, 1], got ${signal}`);
  return signal;
}

/** One example of the query's attribute (`labelledBy` = the asked attribute) or a noisy shot. */
function example(seed: number, labelledBy: SubTask, opts: TaskOptions): Example {
  const image = randomImage(seed, opts);
  const answer = attributeWord(image.scene, labelledBy);
  return { family: 'noisy-task-inference', image, question: TASK_INFERENCE_QUESTION, answer, answers: tenOf(answer), subTask: labelledBy };
}

/** The attribute a shot of an episode about `subTask` is labelled by: `subTask` with probability `signal`. */
export function shotAttribute(seed: number, subTask: SubTask, signal: number): SubTask {
  // Two independent streams: mulberry32's first two outputs from one seed are correlated (the
  // second, given a first >= 0.3, under-drew the last of the four others by a quarter).
  if (new Rng(mixSeed(seed, 9)).next() < signal) return subTask;
  return new Rng(mixSeed(seed, 10)).pick(SUB_TASKS.filter((t) => t !== subTask));
}

function shot(seed: number, subTask: SubTask, opts: TaskOptions): Example {
  return example(seed, shotAttribute(seed, subTask, checkSignal(opts.signal ?? NOISY_SIGNAL)), opts);
}

function checkSubTask(opts: TaskOptions): void {
  if (opts.subTask && !SUB_TASKS.includes(opts.subTask)) throw new RangeError(`noisy-task-inference: unknown subTask '${opts.subTask}'; expected one of ${SUB_TASKS.join(', ')}`);
}

function episode(seed: number, shots: number, opts: TaskOptions = {}): Episode {
  seed = toSeed(seed, 'noisy-task-inference episode');
  checkShots(shots, 'noisy-task-inference episode');
  checkSubTask(opts);
  const signal = checkSignal(opts.signal ?? NOISY_SIGNAL);
  const subTask = opts.subTask ?? new Rng(mixSeed(seed, 0)).pick(SUB_TASKS);
  return {
    family: 'noisy-task-inference',
    seed,
    latent: { family: 'noisy-task-inference', subTask, signal },
    shots: Array.from({ length: shots }, (_, i) => shot(mixSeed(seed, 2 + i), subTask, opts)),
    query: example(mixSeed(seed, 1), subTask, opts),
  };
}

/** Uniform guessing among the asked sub-task's answers (the same as task inference). */
function chance(opts: TaskOptions = {}): number {
  checkSubTask(opts);
  const tasks: readonly SubTask[] = opts.subTask ? [opts.subTask] : SUB_TASKS;
  return tasks.reduce((a, t) => a + 1 / SUB_TASK_ANSWERS[t].length, 0) / tasks.length;
}

/**
 * Exact accuracy of the plurality vote over k shots' attributes (ties broken uniformly): the
 * Bayes-optimal way to name the asked attribute from k shots, so an upper bound on k-shot ICL's
 * choice of attribute. Sums the multinomial over the counts of the asked attribute and the others.
 */
export function pluralityAccuracy(k: number, signal = NOISY_SIGNAL, attributes = SUB_TASKS.length): number {
  if (!Number.isInteger(k) || k < 0) throw new RangeError(`pluralityAccuracy: k must be a non-negative integer, got ${k}`);
  if (k === 0) return 1 / attributes;
  const others = attributes - 1;
  const p = (1 - signal) / others;
  // Dynamic programme over the other attributes: ways[n][m][t] would be exact but large; instead,
  // enumerate the asked count c and, for the rest, the distribution of (max count, #ties at max).
  const lf = [0];
  for (let i = 1; i <= k; i++) lf.push(lf[i - 1]! + Math.log(i));
  let acc = 0;
  for (let c = 0; c <= k; c++) {
    const rest = k - c;
    // P(the `others` attributes split `rest` with max < c, or max == c with t ties) under the
    // uniform split, by a DP over attributes of (total used, ties at exactly c), all counts <= c.
    let dp = new Map<string, number>([['0,0', 1]]);
    for (let a = 0; a < others; a++) {
      const next = new Map<string, number>();
      for (const [key, w] of dp) {
        const [used, ties] = key.split(',').map(Number) as [number, number];
        for (let x = 0; x <= Math.min(c, rest - used); x++) {
          const k2 = `${used + x},${ties + (x === c ? 1 : 0)}`;
          next.set(k2, (next.get(k2) ?? 0) + w * Math.exp(-lf[x]!));
        }
      }
      dp = next;
    }
    const base = Math.exp(lf[k]! - lf[c]! + c * Math.log(signal || Number.MIN_VALUE) + rest * Math.log(p || Number.MIN_VALUE));
    for (const [key, w] of dp) {
      const [used, ties] = key.split(',').map(Number) as [number, number];
      if (used !== rest) continue;
      acc += (base * w) / (1 + ties);
    }
  }
  return acc;
}

export const noisyTaskInference: TaskFamily = {
  name: 'noisy-task-inference',
  // A dataset of this family holds demonstrations: each item is a (noisy) shot of an episode
  // about opts.subTask (default: drawn from the seed). Its clean queries are task-inference items.
  sample: (seed, opts = {}) => {
    seed = toSeed(seed, 'noisy-task-inference sample');
    checkSubTask(opts);
    return shot(mixSeed(seed, 3), opts.subTask ?? new Rng(mixSeed(seed, 0)).pick(SUB_TASKS), opts);
  },
  episode,
  chance,
};
