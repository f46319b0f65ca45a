// Training plans: the run is cut into phases by progress (the fraction of the step or time budget
// done), and each phase sets the stream's family mix and shot ranges. The default plan is a
// curriculum: the two-way family needs an image-matching circuit (letter token gathers its image,
// the query matches it) that does not emerge from a uniform 0..8-shot mix in our budget, while
// short two-way episodes (one or two shots, so the gathered image is nearly pure) make it emerge.
import { checkFamily, type FamilyName } from '../tasks/types.js';
import type { StreamMix } from './data.js';

export interface TrainPhase {
  name: string;
  /** Progress (0..1] at which this phase ends; the last phase should end at 1. */
  until: number;
  mix: StreamMix;
}

export type TrainPlan = readonly TrainPhase[];

/**
 * Most noisy-task-inference shots that fit the demo model's 512 positions: BOS + 8 tokens per
 * example ("<image>" = 4, what, ?, Answer:, the label) for 62 shots and the query is 505.
 */
export const NOISY_MAX_SHOTS = 62;

/**
 * The demo model's curriculum: base skills on a uniform 0..8-shot mix; then two-way weighted with
 * one or two shots (task inference and VQA kept in, so they are not forgotten), where the matching
 * circuit emerges; then two-way at one to four shots, so it carries over to longer prompts.
 * Noisy task inference runs throughout at 0..62 shots, so that pooling is learnt up to the context
 * limit. Its episodes average about 250 tokens, so a weight of 0.4 to 0.5 per sequence is about a
 * quarter of the tokens.
 */
const NOISY = { 'noisy-task-inference': [0, NOISY_MAX_SHOTS] } as const;
export const DEMO_PLAN: TrainPlan = [
  { name: 'base', until: 0.2, mix: { familyWeights: { 'task-inference': 1, 'two-way': 1, vqa: 1, 'noisy-task-inference': 0.4 }, shotRanges: { ...NOISY } } },
  { name: 'match', until: 0.65, mix: { familyWeights: { 'task-inference': 1, 'two-way': 4, vqa: 1, 'noisy-task-inference': 0.4 }, shotRanges: { 'two-way': [1, 2], ...NOISY } } },
  { name: 'extend', until: 1, mix: { familyWeights: { 'task-inference': 1, 'two-way': 3, vqa: 1, 'noisy-task-inference': 0.5 }, shotRanges: { 'two-way': [1, 4], ...NOISY } } },
];

/**
 * The pooling stage, a fine-tune of the demo curriculum's model (`train --init <model> --plan pool`):
 * noisy task inference at weight 1.5 with denoised targets (every shot's "Answer:" trained on the
 * asked attribute of its image, NoisyTargets 'asked'), the other families kept in the mix so their
 * figures hold. From scratch these targets slowed every family (docs/DESIGN-NOTES.md); on a model
 * whose attribute-reading circuit has already formed they only have to teach it to pool.
 */
export const POOL_PLAN: TrainPlan = [
  { name: 'pool', until: 1, mix: { familyWeights: { 'task-inference': 1, 'two-way': 2, vqa: 1, 'noisy-task-inference': 1.5 }, shotRanges: { 'two-way': [1, 4], ...NOISY }, noisyTargets: 'asked' } },
];

/** The named plans of `train --plan`. */
export const TRAIN_PLANS: Readonly<Record<string, TrainPlan>> = { demo: DEMO_PLAN, pool: POOL_PLAN };

/** The phase in effect at `progress` (0..1). */
export function phaseAt(plan: TrainPlan, progress: number): TrainPhase {
  if (plan.length === 0) throw new Error('phaseAt: the plan has no phases');
  return plan.find((p) => progress < p.until) ?? plan[plan.length - 1]!;
}

const parsePairs = (flag: string, spec: string): [FamilyName, string][] =>
  spec.split(',').map((kv) => {
    const [f, v] = kv.split('=');
    if (v === undefined || v === '') throw new Error(`--${flag}: expected family=value pairs, got ${JSON.stringify(kv)}`);
    return [checkFamily(f ?? ''), v];
  });

/** `--mix task-inference=1,two-way=2` and `--shots two-way=1-3` as a one-phase plan. */
export function singlePhasePlan(mix: string | undefined, shots: string | undefined): TrainPlan {
  const out: StreamMix = {};
  if (mix) {
    out.familyWeights = Object.fromEntries(
      parsePairs('mix', mix).map(([f, w]) => {
        const n = Number(w);
        if (!Number.isFinite(n) || n < 0) throw new Error(`--mix: weight of ${f} must be a non-negative number, got ${JSON.stringify(w)}`);
        return [f, n];
      }),
    );
  }
  if (shots) {
    out.shotRanges = Object.fromEntries(
      parsePairs('shots', shots).map(([f, r]) => {
        const m = /^(\d+)-(\d+)$/.exec(r);
        const lo = Number(m?.[1]);
        const hi = Number(m?.[2]);
        if (!m || lo > hi) throw new Error(`--shots: range of ${f} must look like 1-3, got ${JSON.stringify(r)}`);
        return [f, [lo, hi] as const];
      }),
    );
  }
  return [{ name: 'single', until: 1, mix: out }];
}
