// Dataset-level VQA scoring against the official annotation JSON (see datasets/annotations.ts).
import { normalMeanInterval, bootstrapMeanInterval, type Interval } from './intervals.js';
import { vqaAccuracy, type AnswerRecord, type VqaVariant } from './vqa.js';

export interface VqaAnnotation {
  readonly questionId: string;
  readonly answers: readonly AnswerRecord[];
  readonly questionType?: string;
  readonly answerType?: string;
}

export interface VqaPrediction {
  readonly questionId: string | number;
  readonly answer: string;
}

export interface VqaScore {
  /** Mean per-question accuracy in [0, 1] (the official `overall` is 100x this, rounded to 2 places). */
  readonly overall: number;
  readonly perQuestion: ReadonlyMap<string, number>;
  readonly perQuestionType: ReadonlyMap<string, number>;
  readonly perAnswerType: ReadonlyMap<string, number>;
  /** 95% interval of `overall`: normal approximation, or percentile bootstrap when asked. */
  readonly interval: Interval;
}

export interface ScoreVqaOptions {
  readonly variant?: VqaVariant;
  /** Like the official loadRes assertion: every annotated question must have a prediction (default true). */
  readonly requireAll?: boolean;
  readonly interval?: 'normal' | 'bootstrap';
  readonly seed?: number;
}

export function scoreVqa(predictions: readonly VqaPrediction[], annotations: ReadonlyMap<string, VqaAnnotation>, opts: ScoreVqaOptions = {}): VqaScore {
  if (predictions.length === 0) throw new Error('scoreVqa: no predictions');
  const seen = new Set<string>();
  const perQuestion = new Map<string, number>();
  const byQType = new Map<string, number[]>();
  const byAType = new Map<string, number[]>();
  const push = (m: Map<string, number[]>, k: string | undefined, v: number): void => {
    if (k === undefined) return;
    const list = m.get(k);
    if (list) list.push(v);
    else m.set(k, [v]);
  };
  for (const p of predictions) {
    const id = String(p.questionId);
    if (seen.has(id)) throw new Error(`scoreVqa: question_id ${id} has more than one prediction`);
    seen.add(id);
    const ann = annotations.get(id);
    if (!ann) throw new Error(`scoreVqa: prediction for question_id ${id}, which is not in the annotations (${annotations.size} questions)`);
    const acc = vqaAccuracy(p.answer, ann.answers, { variant: opts.variant });
    perQuestion.set(id, acc);
    push(byQType, ann.questionType, acc);
    push(byAType, ann.answerType, acc);
  }
  if (opts.requireAll ?? true) {
    const missing = [...annotations.keys()].filter((k) => !seen.has(k));
    if (missing.length > 0) {
      throw new Error(`scoreVqa: ${missing.length} annotated questions have no prediction (first: ${missing.slice(0, 5).join(', ')}); pass requireAll: false to score a subset`);
    }
  }
  const scores = Float64Array.from(perQuestion.values());
  const avg = (xs: ArrayLike<number>): number => {
    let t = 0;
    for (let i = 0; i < xs.length; i++) t += xs[i];
    return t / xs.length;
  };
  const toMeans = (m: Map<string, number[]>): Map<string, number> => new Map([...m].map(([k, v]) => [k, avg(v)]));
  return {
    overall: avg(scores),
    perQuestion,
    perQuestionType: toMeans(byQType),
    perAnswerType: toMeans(byAType),
    interval: opts.interval === 'bootstrap' ? bootstrapMeanInterval(scores, { seed: opts.seed }) : normalMeanInterval(scores),
  };
}
