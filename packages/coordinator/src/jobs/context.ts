// Everything a phase of a job needs: the spec, the loaded datasets, the image store, the wire
// format, the scheduler and where events go.
import { checkAnnotationCoverage, checkShots, loadDataset, loadVqaAnnotations, type Dataset, type VqaAnnotation } from '@mtv/mtv';
import type { Logger } from '../net/logger.js';
import type { PromptFormat } from '../protocol/index.js';
import type { Scheduler } from '../scheduler/index.js';
import type { DataRef, JobSpec } from './spec.js';
import { ImageStore, wireFormat } from './wire.js';

export type Phase = 'extract' | 'locate' | 'eval';

export type PipelineEvent =
  | { readonly kind: 'phase-start'; readonly phase: Phase; readonly resumedFrom?: string }
  | { readonly kind: 'phase-done'; readonly phase: Phase; readonly ms: number }
  | { readonly kind: 'extract-progress'; readonly rounds: number; readonly total: number; readonly workers: number }
  | {
      readonly kind: 'locate-step'; readonly step: number; readonly steps: number; readonly meanLoss: number; readonly headsAboveHalf: number;
      /** REINFORCE's policy loss of the step, and the Bernoulli probabilities after it ([layer, head] row-major); for the dashboard. */
      readonly policyLoss?: number; readonly probabilities?: Float64Array;
    }
  | { readonly kind: 'locate-validation'; readonly step: number; readonly loss: number }
  | { readonly kind: 'locate-select'; readonly done: number; readonly total: number }
  | { readonly kind: 'eval-progress'; readonly done: number; readonly total: number }
  /** The heads are chosen (also emitted on a resume past locate). */
  | { readonly kind: 'locate-done'; readonly heads: Uint8Array; readonly selectionLoss: number; readonly probabilities: Float64Array }
  /** A run continues from a checkpoint: where it stands (probabilities and validation losses when locate had started). */
  | { readonly kind: 'resumed'; readonly phase: Phase | 'done'; readonly locateStep?: number; readonly probabilities?: Float64Array; readonly validation?: readonly { readonly step: number; readonly loss: number }[] }
  | { readonly kind: 'checkpoint-written'; readonly file: string };

/** A spec's datasets, loaded and checked (loadJobData). */
export interface JobData {
  readonly data: Dataset;
  /** Validation and evaluation data (spec.evalData, else data). */
  readonly evalData: Dataset;
  /** The locator's queries (spec.locateData, else data). */
  readonly locateData: Dataset;
  /** spec.eval.annotations, loaded (official VQA answers by question id). */
  readonly annotations?: ReadonlyMap<string, VqaAnnotation>;
}

export interface JobContext extends JobData {
  readonly spec: JobSpec;
  readonly store: ImageStore;
  readonly format: PromptFormat;
  readonly scheduler: Scheduler;
  readonly logger: Logger;
  readonly emit: (e: PipelineEvent) => void;
}

export async function loadData(ref: DataRef): Promise<Dataset> {
  return loadDataset({ file: ref.file, format: ref.format, ...(ref.root ? { root: ref.root } : {}), checkImages: 'exists' });
}

/** Loads the datasets of a spec and checks them against its settings before any work is handed out. */
export async function loadJobData(spec: JobSpec): Promise<JobData> {
  // The prompts of every phase follow the training data's format.
  for (const [what, ref] of [['eval', spec.evalData], ['locate', spec.locateData]] as const) {
    if (ref && ref.format !== spec.data.format) throw new Error(`job ${spec.jobId}: ${what} data format '${ref.format}' differs from the training data's '${spec.data.format}'`);
  }
  const data = await loadData(spec.data);
  const evalData = spec.evalData ? await loadData(spec.evalData) : data;
  const locateData = spec.locateData ? await loadData(spec.locateData) : data;
  checkShots(data, spec.extract.shots, 'extract');
  if (spec.eval && spec.eval.modes.some((m) => m === 'icl' || m === 'mtv+icl')) checkShots(data, spec.eval.shots, 'eval');
  if (spec.eval?.bestIclShots !== undefined) checkShots(data, spec.eval.bestIclShots, 'eval.bestIclShots');
  if (spec.eval?.annotations) {
    const annotations = await loadVqaAnnotations(spec.eval.annotations);
    checkAnnotationCoverage(evalData, annotations, spec.eval.annotations, spec.eval.n);
    return { data, evalData, locateData, annotations };
  }
  return { data, evalData, locateData };
}

export function makeContext(spec: JobSpec, loaded: JobData, scheduler: Scheduler, logger: Logger, emit: (e: PipelineEvent) => void): JobContext {
  return {
    spec, ...loaded, store: new ImageStore(), format: wireFormat(spec.data.format, spec.data.instruction !== undefined ? { instruction: spec.data.instruction } : {}),
    scheduler, logger, emit,
  };
}

/** Splits `n` items into at most `parts` contiguous, near-equal, non-empty ranges [a, b). */
export function splitRange(n: number, parts: number): [number, number][] {
  const k = Math.max(1, Math.min(n, parts));
  const out: [number, number][] = [];
  for (let i = 0; i < k; i++) out.push([Math.floor((i * n) / k), Math.floor(((i + 1) * n) / k)]);
  return out;
}
