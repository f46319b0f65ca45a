// The locate phase over the fleet: the coordinator owns the Bernoulli policy and Adam (the pure state
// transitions of @mtv/mtv's locator); each step's masks are split across the workers as rollouts
// shards, the losses gathered in mask order, and the update applied here. Validation and the final
// selection split their example sets across the workers the same way and sum losses in example order,
// as meanLossOverSet does. State is checkpointed after every step; randomness is keyed by (seed, step),
// so a resumed run draws exactly what the uninterrupted run would have.
import {
  Prng, applyLosses, finalCandidates, objectiveLosses, trainProbabilities, initLocatorState, locatorSets, proposeMasks, resolveLocatorConfig, validationDue, validationMask,
  type Example, type LocatorConfig, type LocatorObjective, type LocatorResult, type LocatorState,
} from '@mtv/mtv';
import type { RolloutsShard, ShardResult } from '../protocol/index.js';
import type { ShardTask } from '../scheduler/index.js';
import { splitRange, type JobContext } from './context.js';
import { wireExample } from './wire.js';

export interface LocateProgressState {
  readonly step: number;
  readonly logits: Float64Array;
  readonly m: Float64Array;
  readonly v: Float64Array;
  readonly validation: readonly { readonly step: number; readonly loss: number }[];
}

export function locatorConfig(ctx: Pick<JobContext, 'spec'>): LocatorConfig {
  const l = ctx.spec.locate;
  if (!l) throw new Error(`job ${ctx.spec.jobId} has no locate phase`);
  const g = ctx.spec.model.geometry;
  return resolveLocatorConfig({
    layers: g.layers, heads: g.heads, seed: l.seed, steps: l.steps, samplesPerStep: l.samplesPerStep,
    validateEvery: l.validateEvery, finalSamples: l.finalSamples, lr: l.lr,
    ...(l.initLogit !== undefined ? { initLogit: l.initLogit } : {}), ...(l.threshold !== undefined ? { finalThreshold: l.threshold } : {}),
    ...(l.objective !== undefined ? { objective: l.objective } : {}),
  });
}

interface Query {
  readonly example: Example;
  readonly variant: number;
}

/**
 * Losses [queries x masks] of running each query with each mask patched in, spread over the fleet:
 * one query splits its masks across the workers; several queries split the queries.
 */
export async function fleetRollouts(
  ctx: JobContext, label: string, step: number, purpose: RolloutsShard['purpose'], queries: readonly Query[], masks: readonly Uint8Array[], means: Float32Array<ArrayBuffer>,
): Promise<Float64Array[]> {
  const { spec } = ctx;
  const g = spec.model.geometry;
  const LH = g.layers * g.heads;
  const out = queries.map(() => new Float64Array(masks.length));
  const byMask = queries.length === 1;
  const parts = splitRange(byMask ? masks.length : queries.length, ctx.scheduler.capacity);
  // The split is part of the job id: results computed under another split (before a restart) are ignored.
  const jobId = `${spec.jobId}.${label}.${step}.k${parts.length}`;
  const tasks: ShardTask[] = parts.map(([a, b], shardId) => {
    const qs = byMask ? queries : queries.slice(a, b);
    const ms = byMask ? masks.slice(a, b) : masks;
    return {
      jobId, shardId, kind: 'rollouts',
      build: async (): Promise<RolloutsShard> => {
        const flat = new Uint8Array(ms.length * LH);
        ms.forEach((m, k) => flat.set(m, k * LH));
        return {
          kind: 'rollouts', jobId, shardId, modelHash: spec.model.hash, format: ctx.format, geometry: g, step, purpose,
          queries: await Promise.all(qs.map((q) => wireExample(spec.data.format, q.example, q.variant, ctx.store))),
          nMasks: ms.length, masks: flat, means,
        };
      },
      accept: (res: ShardResult) => {
        if (res.kind !== 'rollouts') throw new Error(`expected a rollouts result, got '${res.kind}'`);
        if (res.step !== step || res.nQueries !== qs.length || res.nMasks !== ms.length) {
          throw new Error(`result is for step ${res.step}, ${res.nQueries} queries x ${res.nMasks} masks; the shard is step ${step}, ${qs.length} x ${ms.length}`);
        }
        const bad = res.losses.findIndex((x) => !Number.isFinite(x));
        if (bad >= 0) throw new Error(`loss ${bad} (query ${Math.floor(bad / ms.length)}, mask ${bad % ms.length}) is ${res.losses[bad]}`);
        for (let q = 0; q < qs.length; q++) {
          for (let k = 0; k < ms.length; k++) {
            out[byMask ? q : a + q]![byMask ? a + k : k] = res.losses[q * ms.length + k]!;
          }
        }
      },
    };
  });
  await ctx.scheduler.run(tasks, {});
  return out;
}

/**
 * meanLossOverSet over the fleet: per-mask mean over the set, summed in example order. The workers
 * return cross-entropies; `objective` maps each example's (as the single-process runLocator does).
 */
export async function meanLossOverSet(
  ctx: JobContext, set: readonly Example[], masks: readonly Uint8Array[], means: Float32Array<ArrayBuffer>, seed: number | string, setName: string, step: number, objective: LocatorObjective = 'ce',
): Promise<Float64Array> {
  if (set.length === 0) throw new Error(`locate: the ${setName} set is empty`);
  const queries = set.map((example, i) => ({ example, variant: Prng.derive(seed, 'eval-variant', setName, i).nextU32() }));
  const losses = await fleetRollouts(ctx, `locate-${setName}`, step, setName === 'selection' ? 'select' : 'validate', queries, masks, means);
  const total = new Float64Array(masks.length);
  for (const ce of losses) {
    const row = objectiveLosses(objective, ce);
    for (let k = 0; k < masks.length; k++) total[k] += row[k]!;
  }
  return total.map((t) => t / set.length);
}

export interface LocateRunOptions {
  readonly resume: LocateProgressState | null;
  /** Called after every step with a snapshot function (pack it synchronously). */
  readonly onStep: (snapshot: () => LocateProgressState) => Promise<void>;
}

export async function runLocate(ctx: JobContext, means: Float32Array<ArrayBuffer>, opts: LocateRunOptions): Promise<LocatorResult> {
  const { spec } = ctx;
  const l = spec.locate!;
  const config = locatorConfig(ctx);
  let state: LocatorState = opts.resume
    ? { config, step: opts.resume.step, logits: opts.resume.logits, m: opts.resume.m, v: opts.resume.v }
    : initLocatorState(config);
  if (state.step > config.steps) throw new Error(`locate resume: saved step ${state.step} exceeds the job's ${config.steps} steps`);
  const validation = [...(opts.resume?.validation ?? [])];
  const sets = locatorSets(ctx.locateData, {
    seed: l.seed, reinforceSize: l.reinforceSize, selectionSize: l.selectionSize, validationSize: l.validationSize,
    ...(spec.evalData ? { validation: ctx.evalData } : {}),
  });
  const snapshot = (): LocateProgressState => ({ step: state.step, logits: state.logits, m: state.m, v: state.v, validation });
  while (state.step < config.steps) {
    const p = proposeMasks(state, sets.reinforce.length);
    const [losses] = await fleetRollouts(ctx, 'locate', p.step, 'train', [{ example: sets.reinforce[p.queryIndex]!, variant: p.variant }], p.masks, means);
    const r = applyLosses(state, p, objectiveLosses(config.objective, losses!));
    state = r.state;
    ctx.emit({
      kind: 'locate-step', step: state.step, steps: config.steps, meanLoss: r.report.meanLoss, headsAboveHalf: r.report.headsAboveHalf,
      policyLoss: r.report.policyLoss, probabilities: trainProbabilities(state),
    });
    if (sets.validation.length > 0 && validationDue(state)) {
      const [loss] = await meanLossOverSet(ctx, sets.validation, [validationMask(state)], means, config.seed, 'validation', state.step - 1, config.objective);
      validation.push({ step: state.step - 1, loss: loss! });
      ctx.emit({ kind: 'locate-validation', step: state.step - 1, loss: loss! });
    }
    await opts.onStep(snapshot);
  }
  const masks = finalCandidates(state);
  ctx.emit({ kind: 'locate-select', done: 0, total: masks.length });
  const losses = await meanLossOverSet(ctx, sets.selection, masks, means, config.seed, 'selection', config.steps, config.objective);
  let best = 0;
  for (let k = 0; k < masks.length; k++) if (losses[k]! < losses[best]!) best = k;
  ctx.emit({ kind: 'locate-select', done: masks.length, total: masks.length });
  return { state, heads: masks[best]!, selectionLoss: losses[best]!, candidates: masks.map((mask, k) => ({ mask, loss: losses[k]! })), validation };
}
