// locateHeads(): one entry point for every locator, single process.
//   reinforce   MTV's REINFORCE (rollouts/locate.ts), unchanged; needs only the means.
//   sensitivity top-K heads by ICL vs zero-shot change (needs collect()'s RoundStats); K given or from the grid.
//   stv         the sensitive top-K, a bank of C centres per location, a categorical policy per location.
//   random      K heads of a seeded random ranking (the baseline); K given or from the grid.
import type { VisionLanguageModel } from '@mtv/model';
import { locate, locatorSets, type LocateOptions } from '../rollouts/locate.js';
import { PipelineError, type TaskData } from '../pipeline/prompts.js';
import { checkK, chooseK, defaultKGrid, topK } from './k-choice.js';
import { randomRanking } from './random.js';
import type { RoundStats } from './round-stats.js';
import { sensitivityRanking } from './sensitivity.js';
import { DEFAULT_STV, applyStvLosses, buildBank, finalStvChoice, initStvState, proposeStv, stvValues, type StvState } from './stv.js';
import { valuesEvaluator, withValues, type CostCounter } from './rollouts.js';
import { maskOf, type LocatorKind, type Located } from './types.js';

export interface LocatorChoice {
  /** Default 'reinforce'. */
  readonly locator?: LocatorKind;
  /** Heads to keep (sensitivity, stv, random); absent: chosen on the validation set from kGrid. */
  readonly k?: number;
  readonly kGrid?: readonly number[];
  /** STV: centres per location (default 32), policy steps (40), samples per step (16), Adam lr (0.1). */
  readonly clusters?: number;
  readonly stvSteps?: number;
  readonly stvSamples?: number;
  readonly stvLr?: number;
}

export type LocateHeadsOptions = LocateOptions & LocatorChoice & {
  readonly onStvStep?: (s: StvState) => void;
};

/** The settings each locator needs checked before any GPU time: K against the model, C against the rounds. */
export function checkLocatorChoice(c: LocatorChoice, layers: number, heads: number, rounds?: number): void {
  if (c.k !== undefined) checkK(c.k, layers, heads, '--k');
  c.kGrid?.forEach((k) => checkK(k, layers, heads, '--k-grid value'));
  if ((c.locator ?? 'reinforce') === 'stv') {
    const C = c.clusters ?? DEFAULT_STV.clusters;
    if (!Number.isInteger(C) || C <= 0) throw new PipelineError(`--clusters = ${C}: must be a positive integer`);
    if (rounds !== undefined && C > rounds) throw new PipelineError(`--clusters C = ${C} is larger than --rounds = ${rounds}: k-means needs at least C activation rounds per location`);
  }
}

export async function locateHeads(model: VisionLanguageModel, data: TaskData, means: Float32Array, stats: RoundStats | null, opts: LocateHeadsOptions = {}): Promise<Located> {
  const kind = opts.locator ?? 'reinforce';
  const [L, H, D] = model.headShape;
  const t0 = performance.now();
  const seed = opts.seed ?? 0;
  checkLocatorChoice(opts, L, H);
  if (kind === 'reinforce') {
    let rows = 0;
    let prefills = 0;
    const r = await locate(model, data, means, { ...opts, onEvent: async (e) => {
      // prefix mode: one prefill per batch of masks; naive: one per mask.
      if (e.kind === 'step') { rows += e.state.config.samplesPerStep; prefills += opts.mode === 'naive' ? e.state.config.samplesPerStep : 1; }
      await opts.onEvent?.(e);
    } });
    // Validation and selection rows: one batch per example.
    const sets = locatorSets(data, opts);
    rows += r.validation.length * sets.validation.length + r.candidates.length * sets.selection.length;
    prefills += opts.mode === 'naive' ? r.validation.length * sets.validation.length + r.candidates.length * sets.selection.length : r.validation.length * sets.validation.length + sets.selection.length;
    const locations = Int32Array.from(Array.from(r.heads).flatMap((v, i) => (v ? [i] : [])));
    return { locator: kind, heads: r.heads, locations, bank: null, reinforce: r, scores: null, k: locations.length, kGrid: [], selectionLoss: r.selectionLoss, cost: { forwardPasses: rows, prefills, seconds: (performance.now() - t0) / 1000 } };
  }
  if ((kind === 'sensitivity' || kind === 'stv') && !stats) throw new PipelineError(`locator '${kind}' needs the per-round statistics of collect() (ICL and zero-shot taps); run extract with that locator`);
  const cost: CostCounter = { rows: 0, prefills: 0 };
  const sets = locatorSets(data, opts);
  const ev = valuesEvaluator(model, { format: data.format, ...(opts.prompt ? { prompt: opts.prompt } : {}), cost });
  let scores: Float64Array | null = null;
  let ranking: number[];
  if (kind === 'random') ranking = randomRanking(L, H, seed);
  else ({ scores, ranking } = sensitivityRanking(stats!));
  let k = opts.k;
  let kGrid: { k: number; loss: number }[] = [];
  if (k === undefined) {
    const r = await chooseK(ranking, opts.kGrid ?? defaultKGrid(L, H), L, H, withValues(ev, means), sets.validation, seed);
    k = r.k;
    kGrid = r.losses;
  }
  const locations = topK(ranking, k);
  const heads = maskOf(locations, L * H);
  // Extra tap passes of collect(): one zero-shot forward per round.
  const extra = stats && kind !== 'random' ? stats.count : 0;
  if (kind !== 'stv') {
    return { locator: kind, heads, locations, bank: null, reinforce: null, scores, k, kGrid, selectionLoss: null, cost: { forwardPasses: cost.rows + extra, prefills: cost.prefills + extra, seconds: (performance.now() - t0) / 1000 } };
  }
  const clusters = opts.clusters ?? DEFAULT_STV.clusters;
  const centres = buildBank(stats!, locations, clusters, seed);
  let state = initStvState({ seed, locations: k, clusters, steps: opts.stvSteps ?? DEFAULT_STV.steps, samplesPerStep: opts.stvSamples ?? DEFAULT_STV.samplesPerStep, lr: opts.stvLr ?? DEFAULT_STV.lr });
  while (state.step < state.config.steps) {
    const p = proposeStv(state, sets.reinforce.length);
    const query = { item: sets.reinforce[p.queryIndex]!, index: p.queryIndex, variant: p.variant };
    const losses = await stvRolloutLosses(p.choices, (values) => ev(query, values, [heads]).then((l) => l[0]!), means, locations, centres, clusters, D);
    state = applyStvLosses(state, p, losses);
    opts.onStvStep?.(state);
  }
  const choice = finalStvChoice(state);
  return {
    locator: kind, heads, locations, bank: { clusters, centres, choice }, reinforce: null, scores, k, kGrid, selectionLoss: null,
    cost: { forwardPasses: cost.rows + extra, prefills: cost.prefills + extra, seconds: (performance.now() - t0) / 1000 },
  };
}

/** Loss of each sampled choice, one rollout per distinct choice (duplicates reuse it), in sample order. */
export async function stvRolloutLosses(
  choices: readonly Int32Array[], run: (values: Float32Array) => Promise<number>,
  means: Float32Array, locations: Int32Array, centres: Float32Array, clusters: number, headDim: number,
): Promise<Float64Array> {
  const seen = new Map<string, number>();
  const out = new Float64Array(choices.length);
  for (let i = 0; i < choices.length; i++) {
    const key = choices[i]!.join(',');
    let loss = seen.get(key);
    if (loss === undefined) {
      loss = await run(stvValues(means, locations, centres, clusters, choices[i]!, headDim));
      seen.set(key, loss);
    }
    out[i] = loss;
  }
  return out;
}

/** The patch values of a located vector: the means, with STV's chosen centres at their locations. */
export function locatedValues(means: Float32Array, located: Pick<Located, 'locations' | 'bank'>, headDim: number): Float32Array {
  const b = located.bank;
  return b ? stvValues(means, located.locations, b.centres, b.clusters, b.choice, headDim) : means;
}
