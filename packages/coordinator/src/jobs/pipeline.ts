// One job, extract -> locate -> eval, with its state checkpointed to disk after every merged shard
// (throttled), every locate step and every eval shard, and a --resume that continues from it.
import {
  ActivationSums, DEFAULT_STV, MTV_CODE_VERSION, RoundStats, checkLocatorChoice, shotsPerRound, locatedValues, probabilities, runRecord, withLocated, withLocatedHeads, writeArtifact,
  type Located, type LocatorResult, type MtvArtifact,
} from '@mtv/mtv';
import { CheckpointStore, Throttle } from '../checkpoint/index.js';
import type { Logger } from '../net/logger.js';
import type { Scheduler } from '../scheduler/index.js';
import { loadJobData, makeContext, type Phase, type PipelineEvent } from './context.js';
import { runEvalPhase, type EvalProgressState, type EvalSummary, type SweepSummary } from './eval.js';
import { runExtractWithStats, type ExtractProgressState } from './extract.js';
import { runLocateHeads } from './locate-heads.js';
import { locatorConfig, runLocate, type LocateProgressState } from './locate.js';
import { parseJobSpec, specDiff, specHash, type JobSpec } from './spec.js';
import { checkJobSweep, extractPlan, extractRunRecords } from './sweep.js';

export const JOB_STATE_FORMAT = 'mtv-fleet-job';
export const JOB_STATE_VERSION = 1;

/** What a non-REINFORCE locator's result keeps across a resume. */
type LocatedHeadsState = Omit<Located, 'reinforce' | 'scores'>;

interface LocatedState {
  readonly heads: Uint8Array;
  readonly selectionLoss: number;
  readonly candidates: readonly { readonly mask: Uint8Array; readonly loss: number }[];
}

/** The checkpoint file's content. */
export interface JobState {
  readonly format: typeof JOB_STATE_FORMAT;
  readonly version: typeof JOB_STATE_VERSION;
  readonly specHash: string;
  readonly spec: JobSpec;
  phase: Phase | 'done';
  extract: ExtractProgressState | null;
  locate: LocateProgressState | null;
  located: LocatedState | null;
  /** Sensitivity / stv / random locators: their result (absent for reinforce and older checkpoints). */
  locatedHeads?: LocatedHeadsState | null;
  eval: EvalProgressState | null;
  summaries: EvalSummary[] | null;
  /** eval.sweep's points and ICL at eval.bestIclShots (absent in older checkpoints). */
  sweep?: SweepSummary[] | null;
  bestIcl?: EvalSummary | null;
  /** Wall time per phase in ms, summed over coordinator sessions. */
  timings: Partial<Record<Phase, number>>;
}

function validateState(v: unknown): JobState {
  const s = v as Partial<JobState> | null;
  if (!s || typeof s !== 'object' || s.format !== JOB_STATE_FORMAT) throw new Error(`not an MTV fleet job state (format ${JSON.stringify(s?.format ?? null)})`);
  if (s.version !== JOB_STATE_VERSION) throw new Error(`job state version ${String(s.version)}, this coordinator reads version ${JOB_STATE_VERSION}`);
  const spec = parseJobSpec(s.spec, 'saved job spec');
  if (s.specHash !== specHash(spec)) throw new Error('saved spec does not match its hash');
  if (s.extract && !(s.extract.sums?.sum instanceof Float64Array && s.extract.sums.sumSq instanceof Float64Array)) throw new Error('extract sums are not float64 arrays');
  if (s.locate && !(s.locate.logits instanceof Float64Array && s.locate.m instanceof Float64Array && s.locate.v instanceof Float64Array)) throw new Error('locator state arrays are not float64 arrays');
  return s as JobState;
}

export interface PipelineResult {
  readonly spec: JobSpec;
  readonly sums: ActivationSums;
  readonly located: LocatorResult | null;
  /** The sensitivity / stv / random locator's result (null for reinforce). */
  readonly locatedHeads: LocatedHeadsState | null;
  readonly summaries: readonly EvalSummary[];
  /** eval.sweep: MTV accuracy per number of shots compressed ([] without a sweep). */
  readonly sweep: readonly SweepSummary[];
  /** ICL at eval.bestIclShots, or null. */
  readonly bestIcl: EvalSummary | null;
  readonly artifact: string;
  readonly timings: Partial<Record<Phase, number>>;
  /** Phase the run started in when it resumed from a checkpoint, else null. */
  readonly resumedAt: Phase | 'done' | null;
}

export interface PipelineOptions {
  readonly spec: JobSpec;
  readonly scheduler: Scheduler;
  readonly logger: Logger;
  readonly emit?: (e: PipelineEvent) => void;
  /** Directory of the checkpoint; none: no checkpoints. */
  readonly stateDir?: string;
  /** Continue from the checkpoint in stateDir (it must be of the same spec). */
  readonly resume?: boolean;
  /**
   * Without `resume`, an existing checkpoint in stateDir is refused (its merged work would be lost)
   * unless this is true (replace it: `--fresh`), or 'finished' (replace only a finished job's).
   */
  readonly fresh?: boolean | 'finished';
  /** Least time between extract checkpoints; default 1000 ms (locate/eval checkpoint every step/shard). */
  readonly checkpointMs?: number;
  /** Called once the checkpoint and the datasets are read and checked, before any shard is handed out. */
  readonly waitForWorkers?: () => Promise<void>;
}

/** K against layers x heads, C against the rounds: refused before any shard is handed out. */
function checkJobLocator(spec: JobSpec): void {
  const l = spec.locate;
  if (!l || (l.locator ?? 'reinforce') === 'reinforce') return;
  const g = spec.model.geometry;
  try {
    checkLocatorChoice({ locator: l.locator, ...(l.k !== undefined ? { k: l.k } : {}), ...(l.kGrid ? { kGrid: l.kGrid } : {}), ...(l.clusters !== undefined ? { clusters: l.clusters } : {}) }, g.layers, g.heads, spec.extract.rounds);
  } catch (e) {
    throw new Error(`job ${spec.jobId}: ${(e as Error).message}`);
  }
}

function freshState(spec: JobSpec): JobState {
  return { format: JOB_STATE_FORMAT, version: JOB_STATE_VERSION, specHash: specHash(spec), spec, phase: 'extract', extract: null, locate: null, located: null, eval: null, summaries: null, timings: {} };
}

/** An existing checkpoint met without --resume or --fresh: refused before any work. */
export class CheckpointExistsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CheckpointExistsError';
  }
}

/** Where a resumed job stands, for the dashboard. */
function resumedEvent(state: JobState): PipelineEvent {
  const l = state.locate;
  if (!l || !state.spec.locate) return { kind: 'resumed', phase: state.phase };
  const eps = locatorConfig({ spec: state.spec }).probEps;
  return { kind: 'resumed', phase: state.phase, locateStep: l.step, probabilities: probabilities(l.logits, eps, 1 - eps), validation: l.validation };
}

export async function runPipeline(opts: PipelineOptions): Promise<PipelineResult> {
  const { spec, scheduler, logger } = opts;
  const emit = opts.emit ?? (() => {});
  const store = opts.stateDir ? new CheckpointStore<JobState>(opts.stateDir) : null;
  let state = freshState(spec);
  let resumedAt: JobState['phase'] | null = null;
  if (store) {
    const saved = await store.load(validateState);
    if (opts.resume && saved) {
      const diff = specDiff(saved.spec, spec);
      if (diff.length > 0) throw new Error(`--resume: ${store.file} holds job ${saved.spec.jobId} with other settings: ${diff.join('; ')}`);
      state = saved;
      resumedAt = saved.phase;
      logger.info(`coordinator: resuming job ${spec.jobId} from ${store.file} (phase ${saved.phase}${saved.extract ? `, ${saved.extract.nextShard} extract shards merged` : ''}${saved.locate ? `, locate step ${saved.locate.step}` : ''})`);
    } else if (opts.resume) {
      logger.warn(`coordinator: --resume: no checkpoint at ${store.file}; starting job ${spec.jobId} from scratch`);
    } else if (saved) {
      const replace = opts.fresh === true || (opts.fresh === 'finished' && saved.phase === 'done');
      if (!replace) {
        const merged = saved.extract ? `, ${saved.extract.nextShard} extract shards merged` : '';
        throw new CheckpointExistsError(
          `${store.file} holds a checkpoint of job ${saved.spec.jobId} (phase ${saved.phase}${merged}${saved.locate ? `, locate step ${saved.locate.step}` : ''}); ` +
          'pass --resume to continue it, or --fresh to discard it and start again (or give another --state)',
        );
      }
      logger.warn(`coordinator: ${opts.fresh === true ? '--fresh: ' : ''}replacing the checkpoint at ${store.file} (job ${saved.spec.jobId}, phase ${saved.phase})`);
    }
  }
  const save = async (): Promise<void> => {
    if (!store) return;
    await store.save(state);
    emit({ kind: 'checkpoint-written', file: store.file });
  };
  const ctx = makeContext(spec, await loadJobData(spec), scheduler, logger, emit);
  checkJobLocator(spec);
  checkJobSweep(spec);
  if (spec.eval?.sweep && !spec.locate) throw new Error(`job ${spec.jobId}: eval.sweep evaluates the MTV of each prefix with the located heads; enable the locate phase`);
  if (resumedAt !== null) emit(resumedEvent(state));
  await opts.waitForWorkers?.();
  const timed = async <T>(phase: Phase, fn: () => Promise<T>): Promise<T> => {
    const t0 = Date.now();
    const before = state.timings[phase] ?? 0;
    emit({ kind: 'phase-start', phase, ...(resumedAt === phase ? { resumedFrom: 'checkpoint' } : {}) });
    const tick = (): void => {
      state.timings = { ...state.timings, [phase]: before + (Date.now() - t0) };
    };
    const r = await fn();
    tick();
    emit({ kind: 'phase-done', phase, ms: state.timings[phase]! });
    return r;
  };

  // extract
  let sums: ActivationSums;
  let stats: RoundStats | null = null;
  let prefixes: ActivationSums[] = [];
  if (state.phase === 'extract') {
    const throttle = new Throttle(opts.checkpointMs ?? 1000, save);
    ({ sums, stats, prefixes } = await timed('extract', () =>
      runExtractWithStats(ctx, {
        resume: state.extract,
        onMerged: async (snapshot) => {
          state.extract = snapshot();
          await throttle.poke();
        },
      }),
    ));
    state.extract = { nextShard: extractPlan(spec).length, sums: sums.toData(), ...(stats ? { stats: stats.toData() } : {}), ...(prefixes.length > 0 ? { prefixes: prefixes.map((p) => p.toData()) } : {}) };
    state.phase = spec.locate ? 'locate' : spec.eval ? 'eval' : 'done';
    await save();
  } else {
    if (!state.extract) throw new Error(`checkpoint is past extract but holds no sums`);
    sums = ActivationSums.fromData(state.extract.sums);
    stats = state.extract.stats ? RoundStats.fromData(state.extract.stats) : null;
    prefixes = (state.extract.prefixes ?? []).map((p) => ActivationSums.fromData(p));
  }
  const base: MtvArtifact = {
    sums, logits: null, heads: null,
    provenance: {
      modelId: spec.model.id, modelHash: spec.model.hash, codeVersion: MTV_CODE_VERSION, heads: 'none',
      // One run; with a sweep cut off the shard grid, one per segment (extract, then --extend each).
      runs: extractRunRecords(spec, runRecord(ctx.data, { seed: spec.extract.seed, shots: spec.extract.shots, rounds: spec.extract.rounds, shardSize: spec.extract.shardSize }).datasetHash),
      notes: { fleetJob: spec.jobId },
    },
  };

  // locate
  let located: LocatorResult | null = null;
  let heads: LocatedHeadsState | null = null;
  if (spec.locate && (spec.locate.locator ?? 'reinforce') !== 'reinforce') {
    if (state.phase === 'locate') {
      const r = await timed('locate', () => runLocateHeads(ctx, Float32Array.from(sums.means()), stats, (step, steps, meanLoss) => ctx.emit({ kind: 'locate-step', step, steps, meanLoss, headsAboveHalf: 0 })));
      heads = { locator: r.locator, heads: r.heads, locations: r.locations, bank: r.bank, k: r.k, kGrid: r.kGrid, selectionLoss: null, cost: r.cost };
      state.locatedHeads = heads;
      state.phase = spec.eval ? 'eval' : 'done';
      await save();
    } else {
      if (!state.locatedHeads) throw new Error('checkpoint is past locate but holds no located heads');
      heads = state.locatedHeads;
    }
  } else if (spec.locate) {
    if (state.phase === 'locate') {
      located = await timed('locate', () =>
        runLocate(ctx, Float32Array.from(sums.means()), {
          resume: state.locate,
          onStep: async (snapshot) => {
            state.locate = snapshot();
            await save();
          },
        }),
      );
      state.located = { heads: located.heads, selectionLoss: located.selectionLoss, candidates: located.candidates };
      state.phase = spec.eval ? 'eval' : 'done';
      await save();
    } else {
      const l = state.locate;
      const got = state.located;
      if (!l || !got) throw new Error('checkpoint is past locate but holds no located heads');
      const config = locatorConfig(ctx);
      located = { state: { config, step: l.step, logits: l.logits, m: l.m, v: l.v }, heads: got.heads, selectionLoss: got.selectionLoss, candidates: got.candidates, validation: l.validation };
    }
  }
  if (located) emit({ kind: 'locate-done', heads: located.heads, selectionLoss: located.selectionLoss, probabilities: probabilities(located.state.logits, located.state.config.probEps, 1 - located.state.config.probEps) });
  const l = spec.locate;
  const artifact = heads
    ? withLocated(base, { ...heads, reinforce: null, scores: null }, 'prefix', { locatorSeed: String(l!.seed), ...(heads.bank ? { stvSteps: l!.stvSteps ?? DEFAULT_STV.steps, stvSamples: l!.stvSamples ?? DEFAULT_STV.samplesPerStep } : {}) })
    : located ? withLocatedHeads(base, located, 'prefix') : base;
  await writeArtifact(spec.out, artifact);
  logger.info(`coordinator: wrote the MTV artifact ${spec.out}`);

  // eval
  let summaries: EvalSummary[] = state.summaries ?? [];
  let sweep: SweepSummary[] = state.sweep ?? [];
  let bestIcl: EvalSummary | null = state.bestIcl ?? null;
  if (spec.eval && state.phase === 'eval') {
    // The MTV of some sums: the located heads, patched with those means (or, for stv, the chosen centres).
    const mtvOf = (s: ActivationSums) => heads
      ? { heads: Uint8Array.from(heads.heads), means: Float32Array.from(locatedValues(s.means(), heads, spec.model.geometry.headDim)) }
      : located ? { heads: Uint8Array.from(located.heads), means: Float32Array.from(s.means()) } : null;
    const mtv = mtvOf(sums);
    const xs = spec.eval.sweep ?? [];
    if (prefixes.length !== xs.length) throw new Error(`job ${spec.jobId}: ${prefixes.length} sweep prefixes for ${xs.length} eval.sweep points (a checkpoint of an older build?)`);
    // Shots compressed as shotSweep counts them: rounds x shots per round (>= the point asked).
    const per = Math.max(shotsPerRound(spec.data.format, spec.extract.shots), 1);
    const points = prefixes.map((p) => ({ rounds: p.count, shotsCompressed: p.count * per, mtv: mtvOf(p)! }));
    const r = await timed('eval', () =>
      runEvalPhase(ctx, {
        mtv, resume: state.eval, sweep: points,
        onShard: async (snapshot) => {
          state.eval = snapshot();
          await save();
        },
      }),
    );
    ({ summaries, sweep, bestIcl } = r);
    state.summaries = summaries;
    state.sweep = sweep;
    state.bestIcl = bestIcl;
    state.phase = 'done';
    await save();
  }
  return { spec, sums, located, locatedHeads: heads, summaries, sweep, bestIcl, artifact: spec.out, timings: state.timings, resumedAt };
}
