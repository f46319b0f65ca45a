// The shot sweep of a fleet job (spec.eval.sweep: shots compressed, e.g. [16, 256, 2048]): the MTV
// evaluated with means over the first ceil(x / shots) rounds of the extraction, heads fixed from locate.
// The extraction's shards are cut at those round counts (each segment in shards of shardSize from its
// first round), so the running total after the last shard of a segment is exactly the prefix sums and
// the addition sequence is @mtv/mtv's single-process shotSweep (extract, then extendSums per point):
// the same means bit for bit. With every cut a multiple of shardSize the plan is the plain one.
import { shardPlan, shotsPerRound, type RunRecord } from '@mtv/mtv';
import type { JobSpec } from './spec.js';

export interface PlannedShard {
  readonly shardId: number;
  readonly r0: number;
  readonly r1: number;
}

/** Rounds of each sweep point (ceil(shots compressed / shots per round)), in the spec's order; [] without a sweep. */
export function sweepRounds(spec: Pick<JobSpec, 'data' | 'extract' | 'eval'>): number[] {
  const xs = spec.eval?.sweep ?? [];
  const per = Math.max(shotsPerRound(spec.data.format, spec.extract.shots), 1);
  return xs.map((x) => Math.ceil(x / per));
}

/** Refuses a sweep whose points are not increasing in rounds or need more rounds than the extraction has. */
export function checkJobSweep(spec: Pick<JobSpec, 'jobId' | 'data' | 'extract' | 'eval'>): void {
  const xs = spec.eval?.sweep ?? [];
  const rs = sweepRounds(spec);
  const per = Math.max(shotsPerRound(spec.data.format, spec.extract.shots), 1);
  rs.forEach((r, i) => {
    if (i > 0 && r <= rs[i - 1]!) {
      throw new Error(`job ${spec.jobId}: eval.sweep [${xs.join(', ')}]: ${xs[i - 1]} and ${xs[i]} shots both need ${r} round(s) of ${per} shots; give increasing points at least ${per} shots apart`);
    }
    if (r > spec.extract.rounds) {
      throw new Error(`job ${spec.jobId}: eval.sweep point ${xs[i]} shots compressed needs ${r} rounds of ${per} shots, but extract.rounds is ${spec.extract.rounds}; raise the rounds to at least ${Math.max(...rs)}`);
    }
  });
}

/** The round counts the extraction is cut at: the sweep's, then the total (increasing, unique). */
const cuts = (spec: Pick<JobSpec, 'data' | 'extract' | 'eval'>): number[] => [...new Set([...sweepRounds(spec), spec.extract.rounds])].sort((a, b) => a - b);

/** The extraction's shards: each segment between cuts in shards of shardSize from its first round, ids in order. */
export function extractPlan(spec: Pick<JobSpec, 'data' | 'extract' | 'eval'>): PlannedShard[] {
  const out: PlannedShard[] = [];
  let from = 0;
  for (const to of cuts(spec)) {
    if (to <= from) continue;
    for (const s of shardPlan(to - from, spec.extract.shardSize, from)) out.push({ shardId: out.length, r0: s.r0, r1: s.r1 });
    from = to;
  }
  return out;
}

/** Whether the plan differs from the plain one (some cut is not a multiple of the shard size). */
export const isSegmentedPlan = (spec: Pick<JobSpec, 'data' | 'extract' | 'eval'>): boolean =>
  cuts(spec).some((c) => c !== spec.extract.rounds && c % spec.extract.shardSize !== 0);

/**
 * The artifact's run records: one run, or one per segment when the plan is cut off the shard grid (the
 * sums are then what `mtv extract` of the first segment and `--extend` of each next one give).
 */
export function extractRunRecords(spec: Pick<JobSpec, 'data' | 'extract' | 'eval'>, datasetHash: string): RunRecord[] {
  const e = spec.extract;
  const run = (firstRound: number, rounds: number): RunRecord => ({ datasetHash, shots: e.shots, firstRound, rounds, seed: e.seed, shardSize: e.shardSize });
  if (!isSegmentedPlan(spec)) return [run(0, e.rounds)];
  const out: RunRecord[] = [];
  let from = 0;
  for (const to of cuts(spec)) {
    if (to > from) out.push(run(from, to - from));
    from = to;
  }
  return out;
}
