export { wilson, type Proportion } from './wilson.js';
export { formatIclTable, iclCurve, iclItems, type EvalItem, type IclCell, type IclOptions, type Predictor } from './icl.js';
export { archOfConfig, runtimePredictor, sessionFromCheckpoint, trainPredictor, wordOfId } from './predictors.js';
