export { evaluate, evalShots, evalPrompt, formatSummaryTable, isEvalMode, canonicalEvalMode, EVAL_MODES, EVAL_MODE_ALIASES, type EvalMode, type EvalRecord, type EvalReport, type EvaluateOptions, type ModeSummary } from './harness.js';
export {
  answerSpan, metricFor, scoreGeneration, scoreInterval, vqaAnswersOf, defaultVqaScorer, resolveScoreOptions, describeScoring,
  parseVqaScorer, parseOptionRule, parseAnswerCleanup, VQA_SCORERS, OPTION_RULES, ANSWER_CLEANUPS,
  type MetricKind, type ScoreOptions, type OptionRule, type AnswerCleanup,
} from './score.js';
export { shotSweep, crossTask, type SweepOptions, type SweepPoint, type CrossTask, type CrossCell } from './sweep.js';
export { iclSweep, iclFitCheck, iclContextOf, type IclSweepOptions, type IclSweepPoint, type IclSweepResult, type IclFit, type IclContext } from './icl-sweep.js';
