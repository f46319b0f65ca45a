// Public API of @mtv/worker.
export { ShardRunner, ShardFailure, type RunOutcome, type RunnerInfo, type RunnerOptions, type ProgressFn } from './runner.js';
export { ThreadPool } from './pool.js';
export { FleetWorker, defaultWorkerId, type FleetWorkerOptions, type ShardExecutor } from './worker.js';
export { runWorkerCli, workerProgram } from './cli.js';
