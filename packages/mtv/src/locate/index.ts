export { DEFAULT_LOCATOR_CONFIG, resolveLocatorConfig, type LocatorConfig, type LocatorConfigInput } from './config.js';
export {
  initLocatorState, proposeMasks, applyLosses, validationDue, validationMask, finalCandidates,
  probabilities, trainProbabilities, sampleMask, zScore, policyLoss, policyGradient, adamStep,
  locatorStateToJson, locatorStateFromJson,
  type LocatorState, type LocatorStateJson, type StepProposal, type StepReport,
} from './reinforce.js';
export { runLocator, selectHeads, meanLossOverSet, type RolloutEvaluator, type RolloutQuery, type LocatorEvent, type LocatorResult, type RunLocatorOptions } from './run.js';
export { LOCATOR_OBJECTIVES, objectiveLosses, parseLocatorObjective, type LocatorObjective } from './objective.js';
