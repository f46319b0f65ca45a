export * from './spec.js';
export * from './wire.js';
export { loadJobData, makeContext, splitRange, type JobContext, type Phase, type PipelineEvent } from './context.js';
export { runExtract, runExtractWithStats, extractNeeds, buildExtractShard, checkExtractResult, extractJobId, type ExtractProgressState, type ExtractRunOptions } from './extract.js';
export { runLocateHeads } from './locate-heads.js';
export { runLocate, fleetRollouts, locatorConfig, type LocateProgressState, type LocateRunOptions } from './locate.js';
export { runEval, type EvalSummary, type EvalProgressState, type EvalRunOptions } from './eval.js';
export { runPipeline, CheckpointExistsError, JOB_STATE_FORMAT, JOB_STATE_VERSION, type JobState, type PipelineOptions, type PipelineResult } from './pipeline.js';
