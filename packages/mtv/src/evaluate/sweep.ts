// Shot scaling: MTV accuracy against the number of shots compressed into the means
// (rounds x shots, e.g. 16, 64, ..., 4096), with the head mask held fixed. The sums grow
// incrementally (extendSums) instead of being recomputed at every point, and with round counts that
// are multiples of shardSize each point's means equal a fresh extract of that many rounds bit for bit.
// Cross-task: the task vector of task A applied to the queries of task B.
import type { VisionLanguageModel } from '@mtv/model';
import type { ActivationSums } from '../activations/sums.js';
import { extract, extendSums } from '../extract/extract.js';
import type { PromptOptions } from '../prompts/formats.js';
import type { TaskVector } from '../apply/apply.js';
import { PipelineError, shotsPerRound, type TaskData } from '../pipeline/prompts.js';
import { evaluate, type EvaluateOptions, type ModeSummary } from './harness.js';

export interface SweepOptions {
  readonly seed: number | string;
  /** Shots per extraction round. */
  readonly shots: number;
  /** Increasing round counts, one point each. */
  readonly rounds: readonly number[];
  readonly shardSize: number;
  /** The head mask every point is evaluated with. */
  readonly heads: Uint8Array;
  /** Evaluation settings (mode 'mtv'). */
  readonly eval: Omit<EvaluateOptions, 'modes' | 'vector' | 'onRecord'>;
  readonly prompt?: PromptOptions;
  readonly onPoint?: (p: SweepPoint) => void | Promise<void>;
  /** The sums each point's means come from (e.g. to compare with a fleet's prefixes). */
  readonly onSums?: (rounds: number, sums: ActivationSums) => void;
  readonly onRound?: (done: number, total: number) => void;
}

export interface SweepPoint {
  readonly rounds: number;
  /** rounds x shots. */
  readonly shotsCompressed: number;
  readonly summary: ModeSummary;
}

export async function shotSweep(model: VisionLanguageModel, train: TaskData, evalData: TaskData, opts: SweepOptions): Promise<SweepPoint[]> {
  const rs = opts.rounds;
  if (rs.length === 0) throw new PipelineError('sweep: no round counts given');
  rs.forEach((r, i) => {
    if (!Number.isInteger(r) || r <= 0 || (i > 0 && r <= rs[i - 1]!)) throw new PipelineError(`sweep: round counts must be increasing positive integers, got [${rs.join(', ')}]`);
  });
  const base = { seed: opts.seed, shots: opts.shots, shardSize: opts.shardSize, ...(opts.prompt ? { prompt: opts.prompt } : {}) };
  const points: SweepPoint[] = [];
  let sums: ActivationSums | null = null;
  for (const r of rs) {
    sums = sums === null
      ? await extract(model, train, { ...base, rounds: r, ...(opts.onRound ? { onRound: opts.onRound } : {}) })
      : await extendSums(model, train, sums, r - sums.count, { ...base, ...(opts.onRound ? { onRound: opts.onRound } : {}) });
    opts.onSums?.(r, sums);
    const report = await evaluate(model, evalData, { ...opts.eval, modes: ['mtv'], vector: { means: sums.means(), heads: opts.heads } });
    const p: SweepPoint = { rounds: r, shotsCompressed: r * Math.max(shotsPerRound(train.format, opts.shots), 1), summary: report.summaries[0]! };
    points.push(p);
    await opts.onPoint?.(p);
  }
  return points;
}

export interface CrossTask {
  readonly name: string;
  readonly vector: TaskVector;
  readonly data: TaskData;
}

export interface CrossCell {
  /** Task whose vector is applied; null for the zero-shot baseline row. */
  readonly from: string | null;
  readonly to: string;
  readonly summary: ModeSummary;
}

/** Every task's vector on every task's queries, plus zero-shot baselines: a (tasks + 1) x tasks grid. */
export async function crossTask(model: VisionLanguageModel, tasks: readonly CrossTask[], evalOpts: Omit<EvaluateOptions, 'modes' | 'vector'>, onCell?: (c: CrossCell) => void): Promise<CrossCell[]> {
  if (tasks.length === 0) throw new PipelineError('cross-task: no tasks');
  const cells: CrossCell[] = [];
  for (const b of tasks) {
    const base = await evaluate(model, b.data, { ...evalOpts, modes: ['zero-shot'] });
    cells.push({ from: null, to: b.name, summary: base.summaries[0]! });
    onCell?.(cells[cells.length - 1]!);
    for (const a of tasks) {
      const r = await evaluate(model, b.data, { ...evalOpts, modes: ['mtv'], vector: a.vector });
      cells.push({ from: a.name, to: b.name, summary: r.summaries[0]! });
      onCell?.(cells[cells.length - 1]!);
    }
  }
  return cells;
}
