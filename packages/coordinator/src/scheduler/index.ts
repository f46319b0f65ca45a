export {
  Scheduler, BatchError, LEASE_DEFAULTS, verifiedShard, resultDigest,
  type ShardTask, type BatchOptions, type BatchProgress, type PeerStats, type SchedulerOptions, type LeaseOptions, type VerifyOptions, type FaultCounters, type ShardCounters, type ShardGauges,
} from './scheduler.js';
