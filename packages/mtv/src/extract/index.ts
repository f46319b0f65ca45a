export { extract, extractShard, extendSums, shardPlan, type ExtractOptions, type ExtractShardOptions } from './extract.js';
