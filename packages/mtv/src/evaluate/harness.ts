// The evaluation harness: the same queries under four modes (zero-shot, k-shot ICL, MTV, MTV + k-shot),
// per-example records and a summary per mode with n and a 95% interval. Query i's option order
// (variant) and its ICL shots come from streams keyed by (seed, i), so every mode and every run with
// the same seed sees the same prompts.
import type { VisionLanguageModel } from '@mtv/model';
import type { Example } from '../datasets/types.js';
import type { VqaAnnotation } from '../metrics/vqa-score.js';
import { buildPrompt, type Prompt, type PromptOptions } from '../prompts/formats.js';
import { Prng } from '../sampling/prng.js';
import { generateWith, type TaskVector } from '../apply/apply.js';
import { PipelineError, checkShots, prepare, type TaskData } from '../pipeline/prompts.js';
import { metricFor, resolveScoreOptions, scoreGeneration, scoreInterval, type MetricKind, type ScoreOptions } from './score.js';

/** The canonical spellings, the same in every CLI, the wire protocol and the checkpoint: `mtv+icl`. */
export const EVAL_MODES = ['zero-shot', 'icl', 'mtv', 'mtv+icl'] as const;
export type EvalMode = (typeof EVAL_MODES)[number];
export const isEvalMode = (s: string): s is EvalMode => (EVAL_MODES as readonly string[]).includes(s);
/** Accepted on input, printed as their canonical mode. */
export const EVAL_MODE_ALIASES: Readonly<Record<string, EvalMode>> = { 'mtv-icl': 'mtv+icl', 'mtv_icl': 'mtv+icl', 'icl+mtv': 'mtv+icl', '0-shot': 'zero-shot', zeroshot: 'zero-shot' };
/** The canonical mode a user's spelling names, or null. */
export const canonicalEvalMode = (s: string): EvalMode | null => {
  const t = s.trim().toLowerCase();
  return isEvalMode(t) ? t : (EVAL_MODE_ALIASES[t] ?? null);
};

export interface EvaluateOptions {
  readonly modes: readonly EvalMode[];
  /** Shots of the ICL modes (ignored by zero-shot and mtv). */
  readonly shots?: number;
  readonly seed?: number | string;
  /** Evaluate the first n examples (default: all). */
  readonly n?: number;
  /** Where ICL shots come from (default: the evaluated data, never the query itself). */
  readonly train?: TaskData;
  /** Required by the mtv modes. */
  readonly vector?: TaskVector;
  /** Official VQA annotations by question id (VizWiz/OK-VQA scoring). */
  readonly annotations?: ReadonlyMap<string, VqaAnnotation>;
  /** Default: the checkpoint's generation_config.json max_new_tokens, else 20 (the reference). */
  readonly maxNewTokens?: number;
  /** Default 1 (the reference's min_new_tokens). */
  readonly minNewTokens?: number;
  /** VQA scorer, 2-way rule, answer clean-up (defaults: the reference's; see resolveScoreOptions). */
  readonly scoring?: ScoreOptions;
  readonly prompt?: PromptOptions;
  readonly onRecord?: (r: EvalRecord) => void | Promise<void>;
  readonly onProgress?: (done: number, total: number) => void;
}

export interface EvalRecord {
  readonly mode: EvalMode;
  readonly index: number;
  readonly exampleId: string;
  readonly questionId?: string;
  readonly shots: number;
  /** Prompt tokens (images expanded). */
  readonly promptTokens: number;
  readonly prediction: string;
  readonly answer: string;
  readonly metric: MetricKind;
  readonly score: number;
  readonly finish: 'stop' | 'length';
}

export interface ModeSummary {
  readonly mode: EvalMode;
  readonly metric: MetricKind;
  readonly shots: number;
  readonly n: number;
  readonly accuracy: number;
  readonly lower: number;
  readonly upper: number;
  readonly interval: 'wilson' | 'normal' | 'bootstrap';
}

export interface EvalReport {
  /** The scoring in force (defaults filled in). */
  readonly scoring: Required<ScoreOptions>;
  readonly summaries: readonly ModeSummary[];
  readonly records: readonly EvalRecord[];
}

const modeShots = (mode: EvalMode, shots: number): number => (mode === 'icl' || mode === 'mtv+icl' ? shots : 0);

/** ICL shots for query i: `shots` distinct train examples other than the query, from the (seed, i) stream. */
export function evalShots(train: readonly Example[], query: Example, shots: number, seed: number | string, i: number): Example[] {
  if (shots === 0) return [];
  const pool = train.filter((e) => e.id !== query.id);
  if (pool.length < shots) throw new PipelineError(`evaluate: ${shots} shots need ${shots} examples besides the query, the shot source has ${pool.length}`);
  return Prng.derive(seed, 'eval-shots', i).sampleIndices(pool.length, shots).map((k) => pool[k]!);
}

/** Query i's prompt under `k` ICL shots: the option order and the shots from the (seed, i) streams, as every mode and sweep builds it. */
export function evalPrompt(data: TaskData, train: TaskData, i: number, k: number, seed: number | string, prompt?: PromptOptions): Prompt {
  const query = data.examples[i]!;
  const variant = Prng.derive(seed, 'eval-variant', 'evaluate', i).nextU32();
  return buildPrompt(data.format, { shots: evalShots(train.examples, query, k, seed, i), query, variant }, prompt);
}

export async function evaluate(model: VisionLanguageModel, data: TaskData, opts: EvaluateOptions): Promise<EvalReport> {
  if (opts.modes.length === 0) throw new PipelineError('evaluate: no modes given');
  for (const m of opts.modes) if (!isEvalMode(m)) throw new PipelineError(`evaluate: unknown mode ${JSON.stringify(m)}; modes: ${EVAL_MODES.join(', ')}`);
  const shots = opts.shots ?? 0;
  const seed = opts.seed ?? 0;
  const train = opts.train ?? data;
  const needsShots = opts.modes.some((m) => modeShots(m, shots) > 0);
  checkShots(data, 0, 'evaluate');
  if (needsShots) checkShots(train, shots, 'evaluate');
  if (opts.modes.some((m) => m.startsWith('mtv')) && !opts.vector) throw new PipelineError('evaluate: the mtv modes need a task vector (an artifact with heads)');
  const n = Math.min(opts.n ?? data.examples.length, data.examples.length);
  if (!(n > 0)) throw new PipelineError(`evaluate: n must be positive, got ${opts.n}`);

  const scoring = resolveScoreOptions(data.format, opts.scoring);
  const records: EvalRecord[] = [];
  const scores = new Map<EvalMode, number[]>(opts.modes.map((m) => [m, []]));
  let metricOf: MetricKind | null = null;
  const total = n * opts.modes.length;
  let done = 0;
  for (let i = 0; i < n; i++) {
    const query = data.examples[i]!;
    for (const mode of opts.modes) {
      const k = modeShots(mode, shots);
      const prompt: Prompt = evalPrompt(data, train, i, k, seed, opts.prompt);
      const prepared = await prepare(model, prompt);
      const vector = mode === 'mtv' || mode === 'mtv+icl' ? opts.vector! : null;
      const gen = await generateWith(model, prepared, vector, {
        ...(opts.maxNewTokens !== undefined ? { maxNewTokens: opts.maxNewTokens } : {}),
        ...(opts.minNewTokens !== undefined ? { minNewTokens: opts.minNewTokens } : {}),
      });
      const metric = metricFor(data.format, prompt);
      metricOf ??= metric;
      const score = scoreGeneration(metric, prompt, gen.text, opts.annotations, scoring);
      const rec: EvalRecord = {
        mode, index: i, exampleId: query.id, ...(prompt.questionId !== undefined ? { questionId: prompt.questionId } : {}),
        shots: k, promptTokens: prepared.ids.length, prediction: gen.text, answer: prompt.answer, metric, score, finish: gen.finish,
      };
      records.push(rec);
      scores.get(mode)!.push(score);
      await opts.onRecord?.(rec);
      opts.onProgress?.(++done, total);
    }
  }
  const summaries = opts.modes.map((mode): ModeSummary => {
    const s = scores.get(mode)!;
    const metric = metricOf!;
    const iv = scoreInterval(metric, s);
    return { mode, metric, shots: modeShots(mode, shots), n: s.length, accuracy: iv.estimate, lower: iv.lower, upper: iv.upper, interval: iv.method };
  });
  return { scoring, summaries, records };
}

/** A fixed-width text table of summaries (the CLI prints it on stderr/stdout without --json). */
export function formatSummaryTable(rows: readonly (ModeSummary & { label?: string })[]): string {
  const head = ['mode', 'shots', 'metric', 'n', 'accuracy', '95% interval'];
  const body = rows.map((r) => [r.label ?? r.mode, String(r.shots), r.metric, String(r.n), (100 * r.accuracy).toFixed(1), `[${(100 * r.lower).toFixed(1)}, ${(100 * r.upper).toFixed(1)}]`]);
  const widths = head.map((h, c) => Math.max(h.length, ...body.map((b) => b[c]!.length)));
  const line = (cells: string[]): string => cells.map((x, c) => x.padEnd(widths[c]!)).join('  ').trimEnd();
  return [line(head), line(widths.map((w) => '-'.repeat(w))), ...body.map(line)].join('\n');
}
