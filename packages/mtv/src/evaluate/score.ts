// Scoring one generation with the dataset's metric: VQA accuracy (official) for VizWiz/OK-VQA and for
// generic JSONL with several annotator answers, option-letter accuracy for 2-way and multiple-choice
// items, exact match otherwise (the reference's 2-way scoring: first span, case-insensitive).
import type { DatasetFormat } from '../datasets/types.js';
import { wilsonInterval, normalMeanInterval, type Interval } from '../metrics/intervals.js';
import { exactMatch, extractOptionLetter } from '../metrics/match.js';
import type { VqaAnnotation } from '../metrics/vqa-score.js';
import { pyStrip, vqaAccuracy, type AnswerRecord, type VqaVariant } from '../metrics/vqa.js';
import { IMAGE_TOKEN, type Prompt } from '../prompts/formats.js';

export type MetricKind = 'vqa' | 'option' | 'exact';

/** VQA scorers: 'lavis' (the reference repo's eval_mm/vqa_eval.py) and 'official' (GT-Vision-Lab vqaEval.py). */
export const VQA_SCORERS = ['lavis', 'official'] as const satisfies readonly VqaVariant[];
/** Option (2-way) rules: 'reference' (first span, lower-cased, equals the letter) or 'lenient' (also "(B)", "answer is B", the label). */
export const OPTION_RULES = ['reference', 'lenient'] as const;
export type OptionRule = (typeof OPTION_RULES)[number];
/** Answer clean-up before VQA/exact scoring: 'reference' = split('.')[0].split('\n')[0].strip(); 'line' = the first line. */
export const ANSWER_CLEANUPS = ['reference', 'line'] as const;
export type AnswerCleanup = (typeof ANSWER_CLEANUPS)[number];

export interface ScoreOptions {
  /** Default: 'lavis' for the reference's VQA formats (vizwiz, okvqa), 'official' otherwise. */
  readonly vqaScorer?: VqaVariant;
  /** Default 'reference'. */
  readonly optionRule?: OptionRule;
  /** Default 'reference'. */
  readonly answerCleanup?: AnswerCleanup;
}

const pick = <T extends string>(what: string, known: readonly T[], s: string): T => {
  if ((known as readonly string[]).includes(s)) return s as T;
  throw new Error(`unknown ${what} ${JSON.stringify(s)}; known: ${known.join(', ')}`);
};
export const parseVqaScorer = (s: string): VqaVariant => pick('VQA scorer', VQA_SCORERS, s);
export const parseOptionRule = (s: string): OptionRule => pick('2-way rule', OPTION_RULES, s);
export const parseAnswerCleanup = (s: string): AnswerCleanup => pick('answer clean-up', ANSWER_CLEANUPS, s);

/** The scorer used when none is asked: the reference's for its formats. */
export const defaultVqaScorer = (format: DatasetFormat): VqaVariant => (format === 'vizwiz' || format === 'okvqa' ? 'lavis' : 'official');

/** The options in force for `format` (defaults filled in), as printed next to every result table. */
export function resolveScoreOptions(format: DatasetFormat, o: ScoreOptions = {}): Required<ScoreOptions> {
  return { vqaScorer: o.vqaScorer ?? defaultVqaScorer(format), optionRule: o.optionRule ?? 'reference', answerCleanup: o.answerCleanup ?? 'reference' };
}

/** One line naming the scoring in force, e.g. "scoring: vqa=lavis, 2-way=reference, clean-up=reference". */
export const describeScoring = (o: Required<ScoreOptions>): string => `scoring: vqa=${o.vqaScorer}, 2-way=${o.optionRule}, clean-up=${o.answerCleanup}`;

export function metricFor(format: DatasetFormat, prompt: Prompt): MetricKind {
  if (format === 'vizwiz' || format === 'okvqa') return 'vqa';
  if (prompt.options) return 'option';
  if (prompt.answers && prompt.answers.length > 1) return 'vqa';
  return 'exact';
}

/**
 * The answer part of a generation, cut before any image placeholder the model starts: with 'reference'
 * (default) as mtv_eval.py does, `split('.')[0].split('\n')[0].strip()`; with 'line', the first line.
 */
export const answerSpan = (generation: string, cleanup: AnswerCleanup = 'reference'): string => {
  const g = generation.split(IMAGE_TOKEN)[0]!;
  return pyStrip(cleanup === 'reference' ? g.split('.')[0]!.split('\n')[0]! : g.split('\n')[0]!);
};

/** Annotators' answers for VQA scoring: a single answer counts as given by all ten annotators. */
export const vqaAnswersOf = (answers: readonly (string | AnswerRecord)[]): readonly (string | AnswerRecord)[] =>
  answers.length === 1 ? Array.from({ length: 10 }, () => answers[0]!) : answers;

/** Score in [0, 1] of one generation. `annotations` (official VQA JSON) take precedence for VQA items. */
export function scoreGeneration(
  kind: MetricKind, prompt: Prompt, generation: string, annotations?: ReadonlyMap<string, VqaAnnotation>,
  opts: ScoreOptions & { format?: DatasetFormat } = {},
): number {
  switch (kind) {
    case 'vqa': {
      const ann = prompt.questionId !== undefined ? annotations?.get(prompt.questionId) : undefined;
      const answers: readonly (string | AnswerRecord)[] = ann?.answers ?? prompt.answers ?? [prompt.answer];
      const variant = opts.vqaScorer ?? (opts.format ? defaultVqaScorer(opts.format) : 'official');
      return vqaAccuracy(answerSpan(generation, opts.answerCleanup), vqaAnswersOf(answers), { variant });
    }
    case 'option':
      if ((opts.optionRule ?? 'reference') === 'reference') {
        return answerSpan(generation, 'reference').toLowerCase() === prompt.answer.toLowerCase() ? 1 : 0;
      }
      return extractOptionLetter(generation, prompt.options ?? []) === prompt.answer.toUpperCase() ? 1 : 0;
    case 'exact':
      return exactMatch(generation.split(IMAGE_TOKEN)[0]!, prompt.answer) ? 1 : 0;
  }
}

/** 95% interval of the mean score: Wilson whenever every score is 0 or 1, else the normal interval (VQA accuracy). */
export function scoreInterval(kind: MetricKind, scores: readonly number[]): Interval {
  if (kind === 'vqa' && !scores.every((x) => x === 0 || x === 1)) return normalMeanInterval(scores);
  return wilsonInterval(scores.reduce((a, b) => a + b, 0), scores.length);
}
