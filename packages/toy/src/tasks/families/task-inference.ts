// Task inference: one fixed question ("what ?"); the attribute it asks about (colour, shape,
// count, position or size) is the episode's latent. Zero-shot can only guess; one shot reveals it
// because the sub-tasks' answer words are disjoint.
import { SUB_TASKS, SUB_TASK_ANSWERS, attributeWord, type SubTask } from '../attributes.js';
import { Rng, mixSeed, toSeed } from '../rng.js';
import { randomImage } from '../scene.js';
import { checkShots, tenOf, type Episode, type Example, type TaskFamily, type TaskOptions } from '../types.js';

export const TASK_INFERENCE_QUESTION = 'what ?';

function example(seed: number, subTask: SubTask, opts: TaskOptions): Example {
  const image = randomImage(seed, opts);
  const answer = attributeWord(image.scene, subTask);
  return { family: 'task-inference', image, question: TASK_INFERENCE_QUESTION, answer, answers: tenOf(answer), subTask };
}

/** Uniform guessing among the asked sub-task's answers, averaged over the (uniform) sub-tasks. */
function chance(opts: TaskOptions = {}): number {
  const tasks: readonly SubTask[] = opts.subTask ? [opts.subTask] : SUB_TASKS;
  return tasks.reduce((a, t) => a + 1 / SUB_TASK_ANSWERS[t].length, 0) / tasks.length;
}

function episode(seed: number, shots: number, opts: TaskOptions = {}): Episode {
  seed = toSeed(seed, 'task-inference episode');
  checkShots(shots, 'task-inference episode');
  if (opts.subTask && !SUB_TASKS.includes(opts.subTask)) throw new RangeError(`task-inference: unknown subTask '${opts.subTask}'; expected one of ${SUB_TASKS.join(', ')}`);
  const subTask = opts.subTask ?? new Rng(mixSeed(seed, 0)).pick(SUB_TASKS);
  return {
    family: 'task-inference',
    seed,
    latent: { family: 'task-inference', subTask },
    shots: Array.from({ length: shots }, (_, i) => example(mixSeed(seed, 2 + i), subTask, opts)),
    query: example(mixSeed(seed, 1), subTask, opts),
  };
}

export const taskInference: TaskFamily = {
  name: 'task-inference',
  sample: (seed, opts) => episode(seed, 0, opts).query,
  episode,
  chance,
};
