export {
  Scheduler, BatchError, LEASE_DEFAULTS, verifiedShard, resultDigest,
  type ShardTask, type BatchOptions, type BatchProgress, type PeerStats, type SchedulerOptions, type LeaseOptions, type VerifyOptions, type FaultCounters,
} from './scheduler.js';
