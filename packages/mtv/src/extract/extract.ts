// Mean activations with the model (DESIGN.md section 1, step 1): per round r, sample shots + query
// from the (seed, r) stream, build the ICL prompt, run one forward with the head tap at the last
// prompt token, and accumulate. Sums follow the shard rule of activations/sums.ts, so
// extract() == mergeShards(extractShard per shard) bit for bit, whoever computes the shards.
import type { VisionLanguageModel } from '@mtv/model';
import { ActivationSums, mergeShards, shardCount, type ShardSums, type SumsShape } from '../activations/sums.js';
import type { DatasetFormat } from '../datasets/types.js';
import { buildPrompt, type PromptOptions } from '../prompts/formats.js';
import { sampleRound } from '../sampling/sample.js';
import { PipelineError, checkShots, prepare, type TaskData } from '../pipeline/prompts.js';

export interface ExtractShardOptions {
  readonly seed: number | string;
  /** ICL examples per round before the query (0 for the 2-way formats, whose items carry two). */
  readonly shots: number;
  /** Rounds [r0, r1). */
  readonly r0: number;
  readonly r1: number;
  /** Prompt format (default: the dataset's). */
  readonly format?: DatasetFormat;
  readonly prompt?: PromptOptions;
  /** Called after each round with the rounds done so far in this call. */
  readonly onRound?: (done: number, total: number) => void;
}

export interface ExtractOptions extends Omit<ExtractShardOptions, 'r0' | 'r1' | 'onRound'> {
  /** Total rounds (paper: 100). */
  readonly rounds: number;
  /** Fixed shard size of the run (a run parameter, never derived from the worker count). */
  readonly shardSize: number;
  /** First round id (default 0): rounds [firstRound, firstRound + rounds). */
  readonly firstRound?: number;
  readonly onRound?: (done: number, total: number) => void;
}

function checkRange(r0: number, r1: number): void {
  if (!Number.isInteger(r0) || !Number.isInteger(r1) || r0 < 0 || r1 <= r0) throw new PipelineError(`extract: round range [${r0}, ${r1}) must be non-empty with integer r0 >= 0`);
}

/** The sums of rounds [r0, r1), added from zero in round order (one shard of the run). */
export async function extractShard(model: VisionLanguageModel, data: TaskData, opts: ExtractShardOptions): Promise<ActivationSums> {
  const { seed, shots, r0, r1 } = opts;
  const format = opts.format ?? data.format;
  checkRange(r0, r1);
  checkShots(data, shots, 'extract');
  const shape: SumsShape = model.headShape;
  const sums = new ActivationSums(shape);
  for (let r = r0; r < r1; r++) {
    const s = sampleRound(data.examples, { seed, round: r, shots });
    const prompt = buildPrompt(format, { shots: s.shots, query: s.query, variant: s.variant }, opts.prompt);
    const { tap } = await model.forward(await prepare(model, prompt), { tap: true });
    if (!tap) throw new PipelineError(`extract: round ${r}: the model returned no tap`);
    try {
      sums.add(tap);
    } catch (e) {
      // ActivationSums names the layer/head/dim; add the round and query so it can be reproduced.
      throw new PipelineError(`extract: round ${r} (query ${s.query.id}, seed ${seed}): ${(e as Error).message}`);
    }
    opts.onRound?.(r - r0 + 1, r1 - r0);
  }
  return sums;
}

/** Shard ids and their round ranges for a run of `rounds` starting at `firstRound`. */
export function shardPlan(rounds: number, shardSize: number, firstRound = 0): { shardId: number; r0: number; r1: number }[] {
  if (!Number.isInteger(rounds) || rounds <= 0) throw new PipelineError(`extract: rounds must be a positive integer, got ${rounds}`);
  if (!Number.isInteger(shardSize) || shardSize <= 0) throw new PipelineError(`extract: shardSize must be a positive integer, got ${shardSize}`);
  return Array.from({ length: shardCount(rounds, shardSize) }, (_, s) => ({
    shardId: s, r0: firstRound + s * shardSize, r1: firstRound + Math.min((s + 1) * shardSize, rounds),
  }));
}

/** A whole run in one process: exactly mergeShards of its shards. */
export async function extract(model: VisionLanguageModel, data: TaskData, opts: ExtractOptions): Promise<ActivationSums> {
  const plan = shardPlan(opts.rounds, opts.shardSize, opts.firstRound ?? 0);
  checkShots(data, opts.shots, 'extract');
  const shards: ShardSums[] = [];
  let done = 0;
  for (const { shardId, r0, r1 } of plan) {
    const sums = await extractShard(model, data, {
      ...opts, r0, r1,
      onRound: (k) => opts.onRound?.(done + k, opts.rounds),
    });
    done += r1 - r0;
    shards.push({ shardId, sums });
  }
  return mergeShards(shards, plan.length);
}

/**
 * Adds rounds [existing.count, existing.count + moreRounds) of the same run to `existing`, shard by
 * shard in order (a new object; `existing` is untouched). When existing.count is a multiple of
 * shardSize this equals a fresh extract of all rounds bit for bit (the same merge sequence).
 */
export async function extendSums(model: VisionLanguageModel, data: TaskData, existing: ActivationSums, moreRounds: number, opts: Omit<ExtractOptions, 'rounds' | 'firstRound'>): Promise<ActivationSums> {
  const total = ActivationSums.fromData(existing.toData());
  const plan = shardPlan(moreRounds, opts.shardSize, existing.count);
  let done = 0;
  for (const { r0, r1 } of plan) {
    total.merge(await extractShard(model, data, { ...opts, r0, r1, onRound: (k) => opts.onRound?.(done + k, moreRounds) }));
    done += r1 - r0;
  }
  return total;
}
