export { LOCATOR_KINDS, parseLocatorKind, maskOf, type LocatorKind, type Located, type CentreBank, type SearchCost } from './types.js';
export { RoundStats, mergeRoundStats, bankRounds, DEFAULT_BANK_ROUNDS, type RoundStatsData } from './round-stats.js';
export { kmeans, type KMeansOptions } from './kmeans.js';
export { collect, collectShard, type Collected, type CollectOptions, type CollectRunOptions } from './collect.js';
export { chooseK, checkK, defaultKGrid, rankByScore, topK } from './k-choice.js';
export { sensitivityRanking } from './sensitivity.js';
export { randomRanking } from './random.js';
export {
  DEFAULT_STV, initStvState, proposeStv, applyStvLosses, finalStvChoice, stvProbabilities, buildBank, stvValues,
  type StvConfig, type StvState, type StvProposal,
} from './stv.js';
export { valuesEvaluator, withValues, type ValuesEvaluator, type CostCounter } from './rollouts.js';
export { locateHeads, checkLocatorChoice, stvRolloutLosses, locatedValues, type LocatorChoice, type LocateHeadsOptions } from './run.js';
