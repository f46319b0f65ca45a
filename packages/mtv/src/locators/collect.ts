// The extract pass that also feeds the sensitivity and STV locators: per round, the ICL forward with
// the head tap (exactly extract()'s, so the sums are the same bits) plus one zero-shot forward of the
// same query (same prompt variant), the per-head change between the two taps, and the ICL tap of the
// rounds the bank keeps. Shard rule as extract(): each shard from zero, shards merged in id order.
import type { VisionLanguageModel } from '@mtv/model';
import { ActivationSums, mergeShards, type ShardSums } from '../activations/sums.js';
import { shardPlan, type ExtractOptions, type ExtractShardOptions } from '../extract/extract.js';
import { buildPrompt } from '../prompts/formats.js';
import { sampleRound } from '../sampling/sample.js';
import { PipelineError, checkShots, prepare, zeroShotPrompt, type TaskData } from '../pipeline/prompts.js';
import { DEFAULT_BANK_ROUNDS, RoundStats, bankRounds, mergeRoundStats, type RoundStatsData } from './round-stats.js';

export interface CollectOptions {
  /** Rounds whose ICL taps the bank keeps (bankRounds); empty: none (sensitivity only). */
  readonly keep: ReadonlySet<number>;
}

export interface Collected {
  readonly sums: ActivationSums;
  readonly stats: RoundStats;
}

/** One shard [r0, r1): its sums (== extractShard) and its round statistics. */
export async function collectShard(model: VisionLanguageModel, data: TaskData, opts: ExtractShardOptions & CollectOptions): Promise<{ sums: ActivationSums; stats: RoundStatsData }> {
  const { seed, shots, r0, r1 } = opts;
  const format = opts.format ?? data.format;
  checkShots(data, shots, 'extract');
  const sums = new ActivationSums(model.headShape);
  const stats = new RoundStats(model.headShape);
  for (let r = r0; r < r1; r++) {
    const s = sampleRound(data.examples, { seed, round: r, shots });
    const icl = (await model.forward(await prepare(model, buildPrompt(format, { shots: s.shots, query: s.query, variant: s.variant }, opts.prompt)), { tap: true })).tap;
    const zs = (await model.forward(await prepare(model, zeroShotPrompt(format, s.query, s.variant, opts.prompt)), { tap: true })).tap;
    if (!icl || !zs) throw new PipelineError(`extract: round ${r}: the model returned no tap`);
    try {
      sums.add(icl);
      stats.add(r, icl, zs, opts.keep.has(r));
    } catch (e) {
      throw new PipelineError(`extract: round ${r} (query ${s.query.id}, seed ${seed}): ${(e as Error).message}`);
    }
    opts.onRound?.(r - r0 + 1, r1 - r0);
  }
  return { sums, stats: stats.toData() };
}

export interface CollectRunOptions extends ExtractOptions {
  /** Keep ICL taps for the STV bank (default false: sensitivity only). */
  readonly bank?: boolean;
  /** Reservoir size: at most this many rounds' taps are kept (default 256). */
  readonly bankRounds?: number;
}

/** A whole run in one process, following the shard rule. */
export async function collect(model: VisionLanguageModel, data: TaskData, opts: CollectRunOptions): Promise<Collected> {
  const first = opts.firstRound ?? 0;
  const plan = shardPlan(opts.rounds, opts.shardSize, first);
  checkShots(data, opts.shots, 'extract');
  const keep = new Set(opts.bank ? bankRounds(opts.seed, first, opts.rounds, opts.bankRounds ?? DEFAULT_BANK_ROUNDS) : []);
  const sums: ShardSums[] = [];
  const stats: { shardId: number; stats: RoundStatsData }[] = [];
  let done = 0;
  for (const { shardId, r0, r1 } of plan) {
    const r = await collectShard(model, data, { ...opts, r0, r1, keep, onRound: (k) => opts.onRound?.(done + k, opts.rounds) });
    done += r1 - r0;
    sums.push({ shardId, sums: r.sums });
    stats.push({ shardId, stats: r.stats });
  }
  return { sums: mergeShards(sums, plan.length), stats: mergeRoundStats(stats, plan.length) };
}
