// The ICL curve: accuracy at each number of in-context shots (0 = zero-shot) on the same queries, shots
// drawn from the training data by the (seed, i) streams of evaluate(). A count whose prompts do not
// fit the model's context is found before any generation and skipped with its reason: the runtime
// refuses an over-long sequence with a plain error ("N tokens exceed the model's context of M
// positions"), which would otherwise end the sweep half-way.
import { decodeImage, type ImageInput, type RgbImage, type VisionLanguageModel } from '@mtv/model';
import { DEFAULT_MAX_NEW_TOKENS } from '../apply/apply.js';
import { PipelineError, checkShots, type TaskData } from '../pipeline/prompts.js';
import { evalPrompt, evaluate, type EvaluateOptions, type ModeSummary } from './harness.js';

export interface IclSweepOptions extends Omit<EvaluateOptions, 'modes' | 'shots' | 'vector' | 'train'> {
  /** Shot counts, e.g. [0, 1, 2, 4, 8, 16, 32, 62]; 0 is zero-shot. */
  readonly counts: readonly number[];
  /** Where the shots come from (default: the evaluated data, never the query itself). */
  readonly train?: TaskData;
  /** Called before the first generation with the fit check's outcome. */
  readonly onChecked?: (fits: readonly IclFit[], context: IclContext) => void;
  readonly onPoint?: (p: IclSweepPoint) => void | Promise<void>;
}

export interface IclContext {
  /** Positions the model can attend over (max_position_embeddings, or the sliding window when smaller). */
  readonly positions: number;
  /** Generated tokens every prompt needs room for. */
  readonly newTokens: number;
  /** The most shots whose prompts all fit (every evaluated query; -1: not even zero-shot), or null when every count the shot source allows fits. */
  readonly maxShots: number | null;
}

export interface IclFit {
  readonly shots: number;
  readonly fits: boolean;
  /** The longest prompt checked, in tokens (images expanded); for a count that does not fit, the first one over. */
  readonly promptTokens: number;
  /** Why the count is skipped (null when it fits). */
  readonly reason: string | null;
}

export interface IclSweepPoint {
  readonly shots: number;
  /** Mode 'zero-shot' at 0 shots, else 'icl'. */
  readonly summary: ModeSummary;
}

export interface IclSweepResult {
  readonly points: readonly IclSweepPoint[];
  /** Counts that were not evaluated, with the reason. */
  readonly skipped: readonly IclFit[];
  readonly context: IclContext;
}

/** Decoded images by path with a byte budget (insertion order evicted), so a fit check decodes each image about once. */
class ImageCache {
  private readonly map = new Map<string, RgbImage>();
  private bytes = 0;
  constructor(private readonly model: VisionLanguageModel, private readonly budget = 256 * 2 ** 20) {}
  async get(path: string): Promise<ImageInput> {
    const hit = this.map.get(path);
    if (hit) return hit;
    const img = await decodeImage(path, { processorLimit: this.model.processor.pixelLimit });
    this.map.set(path, img);
    this.bytes += img.data.length;
    for (const [k, v] of this.map) {
      if (this.bytes <= this.budget || this.map.size <= 1) break;
      this.map.delete(k);
      this.bytes -= v.data.length;
    }
    return img;
  }
}

/** Positions and generated tokens the model's generate() checks a prompt against. */
export function iclContextOf(model: VisionLanguageModel, maxNewTokens?: number): { positions: number; newTokens: number } {
  const t = model.config.text;
  return {
    positions: t.slidingWindow !== null ? Math.min(t.maxPositionEmbeddings, t.slidingWindow) : t.maxPositionEmbeddings,
    newTokens: maxNewTokens ?? model.tokenizer.generationMaxNewTokens ?? DEFAULT_MAX_NEW_TOKENS,
  };
}

interface CheckEnv {
  readonly model: VisionLanguageModel;
  readonly data: TaskData;
  readonly train: TaskData;
  readonly n: number;
  readonly seed: number | string;
  readonly opts: IclSweepOptions;
  readonly positions: number;
  readonly newTokens: number;
  readonly cache: ImageCache;
  /** The fewest shot-source examples any evaluated query may draw from (the query itself is never a shot). */
  readonly pool: number;
}

/** Whether every evaluated query's k-shot prompt fits; stops at the first that does not. */
async function checkCount(env: CheckEnv, k: number): Promise<IclFit> {
  if (k > env.pool) return { shots: k, fits: false, promptTokens: 0, reason: `${k} shots need ${k} examples besides the query; the shot source${env.train.file ? ` ${env.train.file}` : ''} has ${env.pool}` };
  let longest = 0;
  for (let i = 0; i < env.n; i++) {
    const p = evalPrompt(env.data, env.train, i, k, env.seed, env.opts.prompt);
    const images: ImageInput[] = [];
    for (const path of p.images) images.push(await env.cache.get(path));
    const T = (await env.model.prepare({ text: p.text, images })).ids.length;
    longest = Math.max(longest, T);
    if (T + env.newTokens > env.positions) {
      return {
        shots: k, fits: false, promptTokens: T,
        reason: `query ${i} (${p.exampleId}): ${T} prompt tokens + ${env.newTokens} generated exceed the model's context of ${env.positions} positions`,
      };
    }
  }
  return { shots: k, fits: true, promptTokens: longest, reason: null };
}

/**
 * The most shots that fit (exponential, then binary search from the counts checked; -1 when not even
 * the zero-shot prompt fits), or null when the shot source runs out first.
 */
async function maxShotsThatFit(env: CheckEnv, fits: readonly IclFit[]): Promise<number | null> {
  const pool = env.pool;
  const over = (f: IclFit): boolean => !f.fits && f.promptTokens > 0;
  let lo = Math.max(-1, ...fits.filter((f) => f.fits).map((f) => f.shots));
  let hi = Math.min(pool + 1, ...fits.filter(over).map((f) => f.shots));
  while (hi === pool + 1 && lo < pool) {
    const probe = Math.min(pool, Math.max(1, 2 * lo));
    if ((await checkCount(env, probe)).fits) lo = probe;
    else hi = probe;
  }
  if (hi === pool + 1) return null;
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if ((await checkCount(env, mid)).fits) lo = mid;
    else hi = mid;
  }
  return lo;
}

/** The fit check alone: each count's outcome and the context (no generation). */
export async function iclFitCheck(model: VisionLanguageModel, data: TaskData, opts: IclSweepOptions): Promise<{ fits: IclFit[]; context: IclContext }> {
  const counts = opts.counts;
  if (counts.length === 0) throw new PipelineError('icl sweep: no shot counts given');
  counts.forEach((k, i) => {
    if (!Number.isInteger(k) || k < 0 || (i > 0 && k <= counts[i - 1]!)) throw new PipelineError(`icl sweep: shot counts must be increasing non-negative integers, got [${counts.join(', ')}]`);
  });
  checkShots(data, 0, 'icl sweep');
  const train = opts.train ?? data;
  const n = Math.min(opts.n ?? data.examples.length, data.examples.length);
  const { positions, newTokens } = iclContextOf(model, opts.maxNewTokens);
  const ids = new Set(train.examples.map((e) => e.id));
  let pool = train.examples.length;
  for (let i = 0; i < n; i++) if (ids.has(data.examples[i]!.id)) pool = train.examples.length - 1;
  const env: CheckEnv = { model, data, train, n, seed: opts.seed ?? 0, opts, positions, newTokens, cache: new ImageCache(model), pool };
  const fits: IclFit[] = [];
  for (const k of counts) fits.push(await checkCount(env, k));
  return { fits, context: { positions, newTokens, maxShots: await maxShotsThatFit(env, fits) } };
}

/** The fit check, then every count that fits evaluated in order (`checked`: a fit check already made with the same options). */
export async function iclSweep(model: VisionLanguageModel, data: TaskData, opts: IclSweepOptions, checked?: { fits: readonly IclFit[]; context: IclContext }): Promise<IclSweepResult> {
  const { fits, context } = checked ?? (await iclFitCheck(model, data, opts));
  opts.onChecked?.(fits, context);
  const { counts: _c, onChecked: _o, onPoint: _p, ...evalOpts } = opts;
  const points: IclSweepPoint[] = [];
  for (const f of fits) {
    if (!f.fits) continue;
    const r = await evaluate(model, data, { ...evalOpts, modes: [f.shots === 0 ? 'zero-shot' : 'icl'], shots: f.shots, ...(opts.train ? { train: opts.train } : {}) });
    const p: IclSweepPoint = { shots: f.shots, summary: r.summaries[0]! };
    points.push(p);
    await opts.onPoint?.(p);
  }
  return { points, skipped: fits.filter((f) => !f.fits), context };
}
