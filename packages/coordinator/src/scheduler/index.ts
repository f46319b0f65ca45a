export { Scheduler, BatchError, type ShardTask, type BatchOptions, type BatchProgress, type PeerStats, type SchedulerOptions } from './scheduler.js';
