export { evaluate, evalShots, formatSummaryTable, isEvalMode, canonicalEvalMode, EVAL_MODES, EVAL_MODE_ALIASES, type EvalMode, type EvalRecord, type EvalReport, type EvaluateOptions, type ModeSummary } from './harness.js';
export {
  answerSpan, metricFor, scoreGeneration, scoreInterval, vqaAnswersOf, defaultVqaScorer, resolveScoreOptions, describeScoring,
  parseVqaScorer, parseOptionRule, parseAnswerCleanup, VQA_SCORERS, OPTION_RULES, ANSWER_CLEANUPS,
  type MetricKind, type ScoreOptions, type OptionRule, type AnswerCleanup,
} from './score.js';
export { shotSweep, crossTask, type SweepOptions, type SweepPoint, type CrossTask, type CrossCell } from './sweep.js';
