// locate(): the REINFORCE head locator (locate/run.ts) driven by the model's rollouts, with the
// reference's defaults (mtv_utils.reinforce + mtv_eval.py): 100 random training examples for the
// steps, the first 50 training examples to pick the final mask, 50 held-out examples to validate.
import type { VisionLanguageModel } from '@mtv/model';
import type { Example } from '../datasets/types.js';
import type { LocatorConfigInput } from '../locate/config.js';
import { runLocator, type LocatorEvent, type LocatorResult } from '../locate/run.js';
import type { LocatorState } from '../locate/reinforce.js';
import type { PromptOptions } from '../prompts/formats.js';
import { Prng } from '../sampling/prng.js';
import { PipelineError, type TaskData } from '../pipeline/prompts.js';
import { rolloutEvaluator, type RolloutMode } from './evaluators.js';

export interface LocateOptions extends Partial<Omit<LocatorConfigInput, 'layers' | 'heads'>> {
  /** Locator seed (default 0). */
  readonly seed?: number | string;
  /** REINFORCE queries drawn at random from the data (reference: 100). */
  readonly reinforceSize?: number;
  /** The first N examples compare the final candidates (reference: 50). */
  readonly selectionSize?: number;
  /** Held-out validation examples (reference: 50); 0 disables validation. */
  readonly validationSize?: number;
  /** Validation data; default: examples outside the REINFORCE set. */
  readonly validation?: TaskData;
  /** 'naive' recomputes the whole prompt per mask (the reference); default 'prefix'. */
  readonly mode?: RolloutMode;
  readonly prompt?: PromptOptions;
  readonly resume?: LocatorState;
  readonly onEvent?: (e: LocatorEvent) => void | Promise<void>;
}

export interface LocatorSets {
  readonly reinforce: readonly Example[];
  readonly selection: readonly Example[];
  readonly validation: readonly Example[];
}

export function locatorSets(data: TaskData, opts: LocateOptions = {}): LocatorSets {
  const n = data.examples.length;
  if (n === 0) throw new PipelineError(`locate: ${data.file ?? 'the dataset'} has no examples`);
  const seed = opts.seed ?? 0;
  const k = Math.min(opts.reinforceSize ?? 100, n);
  const picked = Prng.derive(seed, 'reinforce-set').sampleIndices(n, k);
  const reinforce = picked.map((i) => data.examples[i]!);
  const selection = data.examples.slice(0, Math.min(opts.selectionSize ?? 50, n));
  const vSize = opts.validationSize ?? 50;
  const inReinforce = new Set(picked);
  const validation = opts.validation
    ? opts.validation.examples.slice(0, vSize)
    : data.examples.filter((_, i) => !inReinforce.has(i)).slice(0, vSize);
  return { reinforce, selection, validation };
}

export async function locate(model: VisionLanguageModel, data: TaskData, means: Float32Array, opts: LocateOptions = {}): Promise<LocatorResult> {
  const [layers, heads] = model.headShape;
  const sets = locatorSets(data, opts);
  const { reinforceSize: _r, selectionSize: _s, validationSize: _v, validation: _d, mode, prompt, resume, onEvent, ...config } = opts;
  const evaluate = rolloutEvaluator(model, { format: data.format, means, ...(mode ? { mode } : {}), ...(prompt ? { prompt } : {}) });
  return runLocator({
    config: { ...config, layers, heads, seed: opts.seed ?? 0 },
    reinforceSet: sets.reinforce,
    validationSet: sets.validation,
    selectionSet: sets.selection,
    evaluate,
    ...(resume ? { resume } : {}),
    ...(onEvent ? { onEvent } : {}),
  });
}
