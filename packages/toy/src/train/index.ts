export { CLIP_MEAN, CLIP_STD, EpisodeStream, evalEpisodeSeed, imagePatches, packSequences, promptOnly, tokeniseEpisode, type NoisyTargets, type PackedBatch, type StreamMix, type StreamOptions, type TokenisedSequence } from './data.js';
export { DEMO_PLAN, NOISY_MAX_SHOTS, POOL_PLAN, TRAIN_PLANS, phaseAt, singlePhasePlan, type TrainPhase, type TrainPlan } from './plan.js';
export { TrainOps } from './ops.js';
export { ParamStore, initialValues, paramSpecs, type ParamSpec } from './params.js';
export { LlavaTrainer, attentionLayout, type ForwardTape, type TargetResults } from './model.js';
export { DEFAULT_OPTIM, TrainSession, heldOutSet, learningRate, type OptimOptions, type StepResult } from './trainer.js';
export { demoPreprocessorJson, demoProcessorJson, loadCheckpointWeights, loadTrainState, saveTrainState, writeDemoCheckpoint, type TrainState } from './checkpoint.js';
