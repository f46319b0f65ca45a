// The extract phase over the fleet: rounds grouped into fixed-size shards, each shard carrying the
// examples its rounds draw (from PRNG(seed, r), exactly as @mtv/mtv's sampleRound), results merged in
// shard-id order into one ActivationSums. This is mergeShards' addition sequence, so the sums equal a
// single-process `extract()` with the same seed and shard size bit for bit. Only the merged prefix is
// checkpointed; shards after it are recomputed on resume, so none is lost or counted twice.
import { ActivationSums, DEFAULT_BANK_ROUNDS, RoundStats, bankRounds, sampleRound, type ActivationSumsData, type RoundStatsData } from '@mtv/mtv';
import type { ExtractResult, ExtractShard, ShardResult } from '../protocol/index.js';
import type { ShardTask } from '../scheduler/index.js';
import type { JobContext } from './context.js';
import { extractPlan, sweepRounds } from './sweep.js';
import { ExampleTable } from './wire.js';

export interface ExtractProgressState {
  /** Shards [0, nextShard) are merged into the sums. */
  readonly nextShard: number;
  readonly sums: ActivationSumsData;
  /** Sensitivity / STV locators: the per-round statistics of the same shards (bounded: the bank's reservoir). */
  readonly stats?: RoundStatsData;
  /** eval.sweep: the sums of the sweep's round prefixes merged so far, in the sweep's order. */
  readonly prefixes?: readonly ActivationSumsData[];
}

/** What the job's locator needs from extract: zero-shot taps (sensitivity, stv) and the bank's rounds (stv). */
export function extractNeeds(ctx: Pick<JobContext, 'spec'>): { zeroShot: boolean; keep: ReadonlySet<number> } {
  const l = ctx.spec.locate;
  const kind = l?.locator ?? 'reinforce';
  const zeroShot = kind === 'sensitivity' || kind === 'stv';
  const e = ctx.spec.extract;
  return { zeroShot, keep: new Set(kind === 'stv' ? bankRounds(e.seed, 0, e.rounds, l?.bankRounds ?? DEFAULT_BANK_ROUNDS) : []) };
}

export const extractJobId = (jobId: string): string => `${jobId}.extract`;

function extraFields(ctx: JobContext, r0: number, r1: number): Pick<ExtractShard, 'zeroShot' | 'keep'> {
  const { zeroShot, keep } = extractNeeds(ctx);
  if (!zeroShot) return {};
  return { zeroShot, keep: [...keep].filter((r) => r >= r0 && r < r1) };
}

/** The wire shard of rounds [r0, r1). */
export async function buildExtractShard(ctx: JobContext, shardId: number, r0: number, r1: number): Promise<ExtractShard> {
  const { spec, data } = ctx;
  const table = new ExampleTable(spec.data.format, ctx.store);
  const rounds: ExtractShard['rounds'] = [];
  for (let r = r0; r < r1; r++) {
    const s = sampleRound(data.examples, { seed: spec.extract.seed, round: r, shots: spec.extract.shots });
    const shots: number[] = [];
    for (const e of s.shots) shots.push(await table.add(e, s.variant));
    rounds.push({ r, shots, query: await table.add(s.query, s.variant) });
  }
  const seed = spec.extract.seed;
  return {
    kind: 'extract', jobId: extractJobId(spec.jobId), shardId, modelHash: spec.model.hash, format: ctx.format, geometry: spec.model.geometry,
    // The wire seed is an integer; a string seed is carried by the rounds' explicit examples alone.
    seed: typeof seed === 'number' ? seed : 0,
    shots: spec.extract.shots, r0, r1, rounds, examples: table.examples, sumsq: true,
    ...extraFields(ctx, r0, r1),
  };
}

/** Refuses a result that does not belong to the shard or holds non-finite numbers. */
export function checkExtractResult(ctx: JobContext, res: ShardResult, r0: number, r1: number): ExtractResult {
  const g = ctx.spec.model.geometry;
  if (res.kind !== 'extract') throw new Error(`expected an extract result, got '${res.kind}'`);
  if (res.r0 !== r0 || res.r1 !== r1) throw new Error(`result covers rounds [${res.r0}, ${res.r1}), the shard is [${r0}, ${r1})`);
  if (res.count !== r1 - r0) throw new Error(`result counts ${res.count} rounds, the shard has ${r1 - r0}`);
  if (res.shape[0] !== g.layers || res.shape[1] !== g.heads || res.shape[2] !== g.headDim) {
    throw new Error(`result shape [${res.shape.join(', ')}] differs from the model's [${g.layers}, ${g.heads}, ${g.headDim}]`);
  }
  if (!res.sumsq) throw new Error('result has no sums of squares (the shard asked for them)');
  for (const [name, a] of [['sum', res.sum], ['sumsq', res.sumsq]] as const) {
    const bad = a.findIndex((x) => !Number.isFinite(x));
    if (bad >= 0) throw new Error(`result ${name}[${bad}] is ${a[bad]}`);
  }
  const { zeroShot, keep } = extractNeeds(ctx);
  if (zeroShot) {
    if (!res.sensitivity) throw new Error('result has no sensitivity sums (the shard asked for zero-shot taps)');
    const want = [...keep].filter((r) => r >= r0 && r < r1);
    const got = res.kept?.rounds ?? [];
    if (want.join() !== got.join()) throw new Error(`result keeps rounds [${got.join(', ')}], the shard asked for [${want.join(', ')}]`);
  }
  return res;
}

export interface ExtractRunOptions {
  readonly resume: ExtractProgressState | null;
  /**
   * Called after each in-order merge with a snapshot function: it returns the live merged state
   * (arrays not copied), consistent whenever it is called, so pack it synchronously.
   */
  readonly onMerged: (snapshot: () => ExtractProgressState) => Promise<void>;
}

export async function runExtract(ctx: JobContext, opts: ExtractRunOptions): Promise<ActivationSums> {
  return (await runExtractWithStats(ctx, opts)).sums;
}

/**
 * runExtract, plus the per-round statistics when the job's locator needs them (else null) and, for
 * eval.sweep, the sums of each sweep point's round prefix (a copy of the running total when the
 * point's last shard is merged; [] without a sweep).
 */
export async function runExtractWithStats(ctx: JobContext, opts: ExtractRunOptions): Promise<{ sums: ActivationSums; stats: RoundStats | null; prefixes: ActivationSums[] }> {
  const { spec } = ctx;
  const g = spec.model.geometry;
  const plan = extractPlan(spec);
  const cutRounds = sweepRounds(spec);
  const prefixes = (opts.resume?.prefixes ?? []).map((d) => ActivationSums.fromData(d));
  const total = opts.resume ? ActivationSums.fromData(opts.resume.sums) : new ActivationSums([g.layers, g.heads, g.headDim]);
  const needs = extractNeeds(ctx);
  const stats = needs.zeroShot ? (opts.resume?.stats ? RoundStats.fromData(opts.resume.stats) : new RoundStats([g.layers, g.heads, g.headDim])) : null;
  if (stats && stats.count !== total.count) throw new Error(`extract resume: the saved statistics count ${stats.count} rounds, the sums ${total.count}`);
  let next = opts.resume?.nextShard ?? 0;
  if (next > plan.length) throw new Error(`extract resume: ${next} shards merged, but the job has ${plan.length}`);
  const expected = plan.slice(0, next).reduce((a, s) => a + (s.r1 - s.r0), 0);
  if (total.count !== expected) throw new Error(`extract resume: the saved sums count ${total.count} rounds, shards [0, ${next}) hold ${expected}`);
  const buffered = new Map<number, ExtractResult>();
  if (prefixes.length !== cutRounds.filter((r) => r <= total.count).length) throw new Error(`extract resume: the checkpoint holds ${prefixes.length} sweep prefixes, ${total.count} merged rounds need ${cutRounds.filter((r) => r <= total.count).length}`);
  const snapshot = (): ExtractProgressState => ({
    nextShard: next, sums: { shape: total.shape, sum: total.sum, sumSq: total.sumSq, count: total.count }, ...(stats ? { stats: stats.toData() } : {}),
    ...(cutRounds.length > 0 ? { prefixes: prefixes.map((p) => ({ shape: p.shape, sum: p.sum, sumSq: p.sumSq, count: p.count })) } : {}),
  });
  let roundsDone = expected;
  const emit = (partial: number): void => ctx.emit({ kind: 'extract-progress', rounds: Math.min(spec.extract.rounds, roundsDone + partial), total: spec.extract.rounds, workers: ctx.scheduler.workers.length });
  emit(0);
  const tasks: ShardTask[] = plan.slice(next).map(({ shardId, r0, r1 }) => ({
    jobId: extractJobId(spec.jobId), shardId, kind: 'extract',
    build: () => buildExtractShard(ctx, shardId, r0, r1),
    accept: async (res) => {
      buffered.set(shardId, checkExtractResult(ctx, res, r0, r1));
      roundsDone += r1 - r0;
      let merged = false;
      for (let b = buffered.get(next); b; b = buffered.get(next)) {
        total.merge({ shape: b.shape, sum: b.sum, sumSq: b.sumsq!, count: b.count });
        // Same order as the sums (shard-id order); kept taps are placed by round id.
        stats?.merge({ shape: b.shape, sensitivity: b.sensitivity!, count: b.count, rounds: b.kept?.rounds ?? [], taps: b.kept?.taps ?? new Float32Array(0) });
        buffered.delete(next);
        next++;
        if (cutRounds[prefixes.length] === total.count) prefixes.push(ActivationSums.fromData(total.toData()));
        merged = true;
      }
      if (merged) await opts.onMerged(snapshot);
    },
  }));
  // The window bounds the results held for the in-order merge: memory O(window x layers x heads x headDim).
  await ctx.scheduler.run(tasks, { window: 2 * ctx.scheduler.capacity + 2, onProgress: (p) => emit(p.partial) });
  if (next !== plan.length || total.count !== spec.extract.rounds) {
    throw new Error(`extract: merged ${next} of ${plan.length} shards (${total.count} of ${spec.extract.rounds} rounds)`);
  }
  if (prefixes.length !== cutRounds.length) throw new Error(`extract: ${prefixes.length} of ${cutRounds.length} sweep prefixes were taken`);
  return { sums: total, stats, prefixes };
}
