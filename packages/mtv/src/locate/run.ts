// A single-process driver over the locator's state transitions: REINFORCE steps, periodic
// validation, final head selection. The coordinator runs the same transitions over the network.
import { Prng } from '../sampling/prng.js';
import type { LocatorConfigInput } from './config.js';
import { objectiveLosses } from './objective.js';
import {
  applyLosses, finalCandidates, initLocatorState, proposeMasks, validationDue, validationMask,
  type LocatorState, type StepReport,
} from './reinforce.js';

/** What a rollout evaluates: one zero-shot query and a per-query choice word (2-way option order). */
export interface RolloutQuery<Q> {
  readonly item: Q;
  readonly index: number;
  readonly variant: number;
}

/**
 * Runs the query once per mask, with the masked heads' o_proj inputs at the last prompt token
 * replaced by the mean activations, and returns the cross-entropy of the first answer token per mask.
 */
export type RolloutEvaluator<Q> = (query: RolloutQuery<Q>, masks: readonly Uint8Array[]) => Promise<Float64Array>;

export type LocatorEvent =
  | { readonly kind: 'step'; readonly report: StepReport; readonly state: LocatorState }
  | { readonly kind: 'validation'; readonly step: number; readonly loss: number }
  | { readonly kind: 'candidate'; readonly index: number; readonly loss: number; readonly heads: number };

export interface RunLocatorOptions<Q> {
  readonly config: LocatorConfigInput;
  /** Zero-shot queries for the REINFORCE steps (reference: 100 random training examples). */
  readonly reinforceSet: readonly Q[];
  /** Held-out examples for the periodic validation (reference: the first 50 validation examples). */
  readonly validationSet?: readonly Q[];
  /** Examples the final candidates are compared on (reference: the first 50 training examples). */
  readonly selectionSet: readonly Q[];
  readonly evaluate: RolloutEvaluator<Q>;
  /** Resume from a checkpointed state (same config). */
  readonly resume?: LocatorState;
  readonly onEvent?: (e: LocatorEvent) => void | Promise<void>;
}

export interface LocatorResult {
  readonly state: LocatorState;
  /** The chosen mask [layers * heads]. */
  readonly heads: Uint8Array;
  readonly selectionLoss: number;
  readonly candidates: readonly { readonly mask: Uint8Array; readonly loss: number }[];
  readonly validation: readonly { readonly step: number; readonly loss: number }[];
}

/**
 * Mean loss of each mask over a set. Each example's variant is fixed per (seed, set name, index), so
 * all masks are compared on identical prompts (the reference redraws the 2-way order per call).
 */
export async function meanLossOverSet<Q>(
  evaluate: RolloutEvaluator<Q>, set: readonly Q[], masks: readonly Uint8Array[], seed: number | string, setName: string,
): Promise<Float64Array> {
  if (set.length === 0) throw new Error(`meanLossOverSet: the ${setName} set is empty`);
  const total = new Float64Array(masks.length);
  for (let i = 0; i < set.length; i++) {
    const variant = Prng.derive(seed, 'eval-variant', setName, i).nextU32();
    const losses = await evaluate({ item: set[i], index: i, variant }, masks);
    if (losses.length !== masks.length) throw new Error(`evaluator returned ${losses.length} losses for ${masks.length} masks (${setName} example ${i})`);
    for (let k = 0; k < masks.length; k++) {
      if (!Number.isFinite(losses[k])) throw new Error(`evaluator returned loss ${losses[k]} for mask ${k} on ${setName} example ${i}`);
      total[k] += losses[k];
    }
  }
  return total.map((t) => t / set.length);
}

export async function runLocator<Q>(opts: RunLocatorOptions<Q>): Promise<LocatorResult> {
  let state = opts.resume ?? initLocatorState(opts.config);
  const { seed } = state.config;
  if (opts.resume) {
    const c = opts.resume.config;
    if (c.layers !== opts.config.layers || c.heads !== opts.config.heads || String(c.seed) !== String(opts.config.seed)) {
      throw new Error(`runLocator: resume state is for ${c.layers}x${c.heads} heads, seed ${c.seed}; asked for ${opts.config.layers}x${opts.config.heads}, seed ${opts.config.seed}`);
    }
  }
  const validation: { step: number; loss: number }[] = [];
  // the rollouts give cross-entropies; steps, validation and selection all see the config's objective
  const objective = state.config.objective;
  const evaluate: RolloutEvaluator<Q> = async (q, masks) => objectiveLosses(objective, await opts.evaluate(q, masks));
  while (state.step < state.config.steps) {
    const proposal = proposeMasks(state, opts.reinforceSet.length);
    const losses = await evaluate(
      { item: opts.reinforceSet[proposal.queryIndex], index: proposal.queryIndex, variant: proposal.variant },
      proposal.masks,
    );
    const r = applyLosses(state, proposal, losses);
    state = r.state;
    await opts.onEvent?.({ kind: 'step', report: r.report, state });
    if (opts.validationSet && opts.validationSet.length > 0 && validationDue(state)) {
      const [loss] = await meanLossOverSet(evaluate, opts.validationSet, [validationMask(state)], seed, 'validation');
      validation.push({ step: state.step - 1, loss });
      await opts.onEvent?.({ kind: 'validation', step: state.step - 1, loss });
    }
  }
  return { ...(await selectHeads(state, opts.selectionSet, evaluate, opts.onEvent)), validation };
}

/** Final heads: the candidate with the lowest mean loss on the selection set (first one on ties). */
export async function selectHeads<Q>(
  state: LocatorState, selectionSet: readonly Q[], evaluate: RolloutEvaluator<Q>, onEvent?: (e: LocatorEvent) => void | Promise<void>,
): Promise<Omit<LocatorResult, 'validation'>> {
  const masks = finalCandidates(state);
  const losses = await meanLossOverSet(evaluate, selectionSet, masks, state.config.seed, 'selection');
  let best = 0;
  for (let k = 0; k < masks.length; k++) {
    await onEvent?.({ kind: 'candidate', index: k, loss: losses[k], heads: masks[k].reduce((a, b) => a + b, 0) });
    if (losses[k] < losses[best]) best = k;
  }
  return { state, heads: masks[best], selectionLoss: losses[best], candidates: masks.map((mask, k) => ({ mask, loss: losses[k] })) };
}
