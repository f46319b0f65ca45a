// Scoring one generation with the dataset's metric: VQA accuracy (official) for VizWiz/OK-VQA and for
// generic JSONL with several annotator answers, option-letter accuracy for 2-way and multiple-choice
// items, exact match otherwise (the reference's 2-way scoring: first span, case-insensitive).
import type { DatasetFormat } from '../datasets/types.js';
import { wilsonInterval, normalMeanInterval, type Interval } from '../metrics/intervals.js';
import { exactMatch, extractOptionLetter } from '../metrics/match.js';
import type { VqaAnnotation } from '../metrics/vqa-score.js';
import { pyStrip, vqaAccuracy, type AnswerRecord } from '../metrics/vqa.js';
import { IMAGE_TOKEN, type Prompt } from '../prompts/formats.js';

export type MetricKind = 'vqa' | 'option' | 'exact';

export function metricFor(format: DatasetFormat, prompt: Prompt): MetricKind {
  if (format === 'vizwiz' || format === 'okvqa') return 'vqa';
  if (prompt.options) return 'option';
  if (prompt.answers && prompt.answers.length > 1) return 'vqa';
  return 'exact';
}

/** The answer part of a generation: its first line, cut before any image placeholder the model starts. */
export const answerSpan = (generation: string): string => pyStrip(generation.split('\n')[0]!.split(IMAGE_TOKEN)[0]!);

/** Score in [0, 1] of one generation. `annotations` (official VQA JSON) take precedence for VQA items. */
export function scoreGeneration(kind: MetricKind, prompt: Prompt, generation: string, annotations?: ReadonlyMap<string, VqaAnnotation>): number {
  switch (kind) {
    case 'vqa': {
      const ann = prompt.questionId !== undefined ? annotations?.get(prompt.questionId) : undefined;
      const answers: readonly (string | AnswerRecord)[] = ann?.answers ?? prompt.answers ?? [prompt.answer];
      return vqaAccuracy(answerSpan(generation), answers);
    }
    case 'option':
      return extractOptionLetter(generation, prompt.options ?? []) === prompt.answer.toUpperCase() ? 1 : 0;
    case 'exact':
      return exactMatch(generation, prompt.answer) ? 1 : 0;
  }
}

/** 95% interval of the mean score: Wilson for 0/1 scores, the normal interval for VQA accuracy. */
export function scoreInterval(kind: MetricKind, scores: readonly number[]): Interval {
  if (kind === 'vqa') return normalMeanInterval(scores);
  return wilsonInterval(scores.reduce((a, b) => a + b, 0), scores.length);
}
