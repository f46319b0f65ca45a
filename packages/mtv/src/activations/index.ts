export { ActivationSums, mergeShards, accumulateRounds, shardRounds, shardCount, type ActivationSumsData, type ShardSums, type SumsShape } from './sums.js';
