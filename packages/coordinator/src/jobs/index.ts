export * from './spec.js';
export * from './wire.js';
export { loadJobData, makeContext, splitRange, type JobContext, type Phase, type PipelineEvent } from './context.js';
export { runExtract, runExtractWithStats, extractNeeds, buildExtractShard, checkExtractResult, extractJobId, type ExtractProgressState, type ExtractRunOptions } from './extract.js';
export { runLocateHeads } from './locate-heads.js';
export { runLocate, fleetRollouts, locatorConfig, type LocateProgressState, type LocateRunOptions } from './locate.js';
export { runEval, runEvalPhase, type EvalSummary, type EvalProgressState, type EvalRunOptions, type EvalPhaseResult, type SweepInput, type SweepSummary } from './eval.js';
export { checkJobSweep, extractPlan, extractRunRecords, isSegmentedPlan, sweepRounds, type PlannedShard } from './sweep.js';
export { runPipeline, CheckpointExistsError, JOB_STATE_FORMAT, JOB_STATE_VERSION, type JobState, type PipelineOptions, type PipelineResult } from './pipeline.js';
