export { evaluate, evalShots, formatSummaryTable, isEvalMode, canonicalEvalMode, EVAL_MODES, EVAL_MODE_ALIASES, type EvalMode, type EvalRecord, type EvalReport, type EvaluateOptions, type ModeSummary } from './harness.js';
export { answerSpan, metricFor, scoreGeneration, scoreInterval, type MetricKind } from './score.js';
export { shotSweep, crossTask, type SweepOptions, type SweepPoint, type CrossTask, type CrossCell } from './sweep.js';
