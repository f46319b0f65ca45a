import { checkFamily, type FamilyName, type TaskFamily } from '../types.js';
import { noisyTaskInference } from './noisy-task-inference.js';
import { taskInference } from './task-inference.js';
import { twoWay } from './two-way.js';
import { vqa } from './vqa.js';

export const TASK_FAMILIES: Readonly<Record<FamilyName, TaskFamily>> = {
  'task-inference': taskInference,
  'two-way': twoWay,
  vqa,
  'noisy-task-inference': noisyTaskInference,
};

export function getFamily(name: string): TaskFamily {
  return TASK_FAMILIES[checkFamily(name)];
}

/** Chance accuracy of each family with default options (task inference 0.35, two-way 0.5, vqa ~0.285). */
export const CHANCE: Readonly<Record<FamilyName, number>> = {
  'task-inference': taskInference.chance(),
  'two-way': twoWay.chance(),
  vqa: vqa.chance(),
  'noisy-task-inference': noisyTaskInference.chance(),
};
