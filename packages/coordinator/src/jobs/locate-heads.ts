// The sensitivity, stv and random locators over the fleet: the same decisions as @mtv/mtv's
// locateHeads(), with every rollout a shard. The K grid's validation pass splits its examples across
// the workers (meanLossOverSet, summed in example order); each STV step sends one shard per distinct
// centre choice (a one-row prefix-shared batch with that choice's values), all in flight at once, and
// gathers the losses in sample order. The policy state lives here, as REINFORCE's does.
import {
  DEFAULT_STV, applyStvLosses, buildBank, checkLocatorChoice, chooseK, defaultKGrid, finalStvChoice, initStvState, locatorSets, maskOf,
  proposeStv, randomRanking, sensitivityRanking, stvValues, topK,
  type Example, type Located, type RolloutEvaluator, type RoundStats,
} from '@mtv/mtv';
import type { RolloutsShard, ShardResult } from '../protocol/index.js';
import type { ShardTask } from '../scheduler/index.js';
import type { JobContext } from './context.js';
import { meanLossOverSet } from './locate.js';
import { wireExample } from './wire.js';

/** Losses of one query under each of several patch values (one mask), one shard per values array. */
async function valuesRollouts(ctx: JobContext, label: string, step: number, query: { example: Example; variant: number }, values: readonly Float32Array[], mask: Uint8Array): Promise<Float64Array> {
  const { spec } = ctx;
  const g = spec.model.geometry;
  const out = new Float64Array(values.length);
  const jobId = `${spec.jobId}.${label}.${step}`;
  const tasks: ShardTask[] = values.map((v, shardId) => ({
    jobId, shardId, kind: 'rollouts',
    build: async (): Promise<RolloutsShard> => ({
      kind: 'rollouts', jobId, shardId, modelHash: spec.model.hash, format: ctx.format, geometry: g, step, purpose: 'train',
      queries: [await wireExample(spec.data.format, query.example, query.variant, ctx.store)], nMasks: 1, masks: Uint8Array.from(mask), means: Float32Array.from(v),
    }),
    accept: (res: ShardResult) => {
      if (res.kind !== 'rollouts' || res.step !== step || res.nQueries !== 1 || res.nMasks !== 1) throw new Error(`expected a 1 x 1 rollouts result of step ${step}, got ${res.kind}`);
      const loss = res.losses[0]!;
      if (!Number.isFinite(loss)) throw new Error(`stv rollout ${shardId} of step ${step}: loss ${loss}`);
      out[shardId] = loss;
    },
  }));
  await ctx.scheduler.run(tasks, {});
  return out;
}

export async function runLocateHeads(ctx: JobContext, means: Float32Array<ArrayBuffer>, stats: RoundStats | null, onStvStep?: (step: number, steps: number, meanLoss: number) => void): Promise<Located> {
  const { spec } = ctx;
  const l = spec.locate!;
  const kind = l.locator ?? 'reinforce';
  if (kind === 'reinforce') throw new Error('runLocateHeads: reinforce runs through runLocate');
  const { layers: L, heads: H, headDim: D } = spec.model.geometry;
  const t0 = performance.now();
  const seed = l.seed;
  checkLocatorChoice({ locator: kind, ...(l.k !== undefined ? { k: l.k } : {}), ...(l.kGrid ? { kGrid: l.kGrid } : {}), ...(l.clusters !== undefined ? { clusters: l.clusters } : {}) }, L, H, spec.extract.rounds);
  if (kind !== 'random' && !stats) throw new Error(`locator '${kind}' needs the extract phase's per-round statistics`);
  const sets = locatorSets(ctx.locateData, { seed, reinforceSize: l.reinforceSize, selectionSize: l.selectionSize, validationSize: l.validationSize, ...(spec.evalData ? { validation: ctx.evalData } : {}) });
  let rows = 0;
  let prefills = 0;
  let scores: Float64Array | null = null;
  let ranking: number[];
  if (kind === 'random') ranking = randomRanking(L, H, seed);
  else ({ scores, ranking } = sensitivityRanking(stats!));
  let k = l.k;
  let kGrid: { k: number; loss: number }[] = [];
  if (k === undefined) {
    // chooseK's decision rule over the fleet's validation losses (the evaluator adapter only forwards).
    const grid = l.kGrid ?? defaultKGrid(L, H);
    if (sets.validation.length === 0) throw new Error('choosing K needs validation examples (validation size 0); give locate.k instead');
    const masks = grid.map((kk) => maskOf(topK(ranking, kk), L * H));
    const losses = await meanLossOverSet(ctx, sets.validation, masks, means, seed, 'k-grid', 0);
    rows += sets.validation.length * grid.length;
    prefills += sets.validation.length;
    // The grid's mean losses are already computed; chooseK over a one-item set whose "losses" are those means.
    const given: RolloutEvaluator<number> = async (_q, ms) => Float64Array.from(ms.map((_, i) => losses[i]!));
    const r = await chooseK(ranking, grid, L, H, given, [0], seed);
    k = r.k;
    kGrid = r.losses;
  }
  const locations = topK(ranking, k);
  const heads = maskOf(locations, L * H);
  const extra = kind === 'random' ? 0 : stats!.count;
  const cost = (): Located['cost'] => ({ forwardPasses: rows + extra, prefills: prefills + extra, seconds: (performance.now() - t0) / 1000 });
  if (kind !== 'stv') return { locator: kind, heads, locations, bank: null, reinforce: null, scores, k, kGrid, selectionLoss: null, cost: cost() };
  const clusters = l.clusters ?? DEFAULT_STV.clusters;
  const centres = buildBank(stats!, locations, clusters, seed);
  let state = initStvState({ seed, locations: k, clusters, steps: l.stvSteps ?? DEFAULT_STV.steps, samplesPerStep: l.stvSamples ?? DEFAULT_STV.samplesPerStep, lr: DEFAULT_STV.lr });
  while (state.step < state.config.steps) {
    const p = proposeStv(state, sets.reinforce.length);
    // One rollout per distinct choice (as stvRolloutLosses), in first-seen order.
    const keys = p.choices.map((c) => c.join(','));
    const distinct = [...new Set(keys)];
    const first = distinct.map((key) => p.choices[keys.indexOf(key)]!);
    const losses = await valuesRollouts(ctx, 'locate-stv', p.step, { example: sets.reinforce[p.queryIndex]!, variant: p.variant }, first.map((c) => stvValues(means, locations, centres, clusters, c, D)), heads);
    rows += distinct.length;
    prefills += distinct.length;
    const stepLosses = keys.map((key) => losses[distinct.indexOf(key)]!);
    state = applyStvLosses(state, p, stepLosses);
    onStvStep?.(state.step, state.config.steps, stepLosses.reduce((a, b) => a + b, 0) / stepLosses.length);
  }
  return { locator: kind, heads, locations, bank: { clusters, centres, choice: finalStvChoice(state) }, reinforce: null, scores, k, kGrid, selectionLoss: null, cost: cost() };
}
