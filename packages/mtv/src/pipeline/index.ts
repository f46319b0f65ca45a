export { PipelineError, checkShots, firstAnswerToken, isTwoWayFormat, type TargetRule, defaultShots, shotsPerRound, prepare, zeroShotPrompt, type TaskData } from './prompts.js';
export { runMtv, runRecord, sumsArtifact, withLocatedHeads, withLocated, type RunMtvOptions } from './run.js';
