// What the coordinator runs: one pipeline job (extract -> locate -> eval) described by plain data, so
// it can be checkpointed with the job state and compared on --resume.
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { DATASET_FORMATS, LOCATOR_KINDS, LOCATOR_OBJECTIVES } from '@mtv/mtv';
import { GeometrySchema } from '../protocol/index.js';

const posInt = z.int().min(1);
const seed = z.union([z.int().min(0), z.string().min(1).max(128)]);

export const DataRefSchema = z.strictObject({
  /** Dataset file on the coordinator's disk (workers receive the examples' bytes). */
  file: z.string().min(1),
  format: z.enum(DATASET_FORMATS),
  /** Directory image paths resolve inside (default: the file's directory). */
  root: z.string().min(1).optional(),
  /** Generic format only: text before the first shot. */
  instruction: z.string().optional(),
});
export type DataRef = z.infer<typeof DataRefSchema>;

export const EVAL_PHASE_MODES = ['zero-shot', 'icl', 'mtv', 'mtv+icl'] as const;

export const JobSpecSchema = z.strictObject({
  jobId: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, 'expected a job id of [A-Za-z0-9._-], 1 to 64 characters'),
  data: DataRefSchema,
  /** Held-out data for validation and evaluation (default: `data`). */
  evalData: DataRefSchema.optional(),
  /**
   * The locate phase's queries (REINFORCE, final selection, and validation without evalData; default:
   * `data`), e.g. `mtv relabel`'s pseudo-labelled copy of noisy data. Means still come from `data`.
   */
  locateData: DataRefSchema.optional(),
  model: z.strictObject({ id: z.string().min(1), hash: z.string().min(1), geometry: GeometrySchema }),
  extract: z.strictObject({
    seed,
    shots: z.int().min(0).max(1024),
    rounds: posInt,
    /** Fixed shard size: part of the result's definition (activations/sums.ts), never the worker count. */
    shardSize: posInt,
  }),
  locate: z
    .strictObject({
      seed,
      steps: posInt,
      samplesPerStep: z.int().min(2).max(4096),
      reinforceSize: posInt,
      selectionSize: posInt,
      validationSize: z.int().min(0),
      validateEvery: z.int().min(0),
      finalSamples: posInt,
      lr: z.number().positive(),
      /** Initial Bernoulli logit of every head (default -1, the reference). */
      initLogit: z.number().finite().optional(),
      /** Probabilities at or below this are zeroed before the final sampling (the reference: 0.8 for Idefics2); absent: off. */
      threshold: z.number().min(0).max(1).optional(),
      /** REINFORCE rollout loss: ce (absent; the reference) or prob, 1 - p(answer), robust to noisy labels (@mtv/mtv locate/objective.ts). */
      objective: z.enum(LOCATOR_OBJECTIVES).optional(),
      /** Head locator (absent: reinforce, the paper's; the REINFORCE fields above are then unused by the others). */
      locator: z.enum(LOCATOR_KINDS).optional(),
      /** sensitivity / stv / random: heads kept (absent: chosen on the validation set from kGrid or the default grid). */
      k: posInt.optional(),
      kGrid: z.array(posInt).min(1).optional(),
      /** stv: centres per location, rounds kept for clustering, policy steps and samples per step. */
      clusters: posInt.optional(),
      bankRounds: posInt.optional(),
      stvSteps: z.int().min(0).optional(),
      stvSamples: z.int().min(2).max(4096).optional(),
    })
    .nullable(),
  eval: z
    .strictObject({
      seed,
      /** Evaluated queries (absent: all, as the reference). */
      n: posInt.optional(),
      shots: z.int().min(0).max(1024),
      modes: z.array(z.enum(EVAL_PHASE_MODES)).min(1),
      maxNewTokens: z.int().min(1).max(4096),
      /** End tokens are refused before this many new tokens (default 1, as the reference). */
      minNewTokens: z.int().min(0).max(4096).optional(),
      /** Items per eval shard. */
      shardSize: posInt,
      /** Official VQA annotation JSON on the coordinator's disk, scored against by question id. */
      annotations: z.string().min(1).optional(),
      /** VQA scorer (default: lavis for vizwiz/okvqa, official otherwise), 2-way rule and answer clean-up (default: reference). */
      vqaScorer: z.enum(['lavis', 'official']).optional(),
      optionRule: z.enum(['reference', 'lenient']).optional(),
      answerCleanup: z.enum(['reference', 'line']).optional(),
      /**
       * Shot sweep: MTV accuracy with means over the first ceil(x / shots) rounds, for each x (shots
       * compressed, increasing, e.g. [16, 256, 2048]); heads from the locate phase. Needs locate and
       * extract.rounds >= the largest point's rounds.
       */
      sweep: z.array(posInt).min(1).max(64).optional(),
      /** Also ICL at this many shots (e.g. the most that fit the context), reported beside the sweep. */
      bestIclShots: z.int().min(1).max(1024).optional(),
    })
    .nullable(),
  /** Where the MTV artifact is written. */
  out: z.string().min(1),
});
export type JobSpec = z.infer<typeof JobSpecSchema>;

export function parseJobSpec(v: unknown, where = 'job spec'): JobSpec {
  const r = JobSpecSchema.safeParse(v);
  if (r.success) return r.data;
  throw new Error(`${where}: ${r.error.issues.map((i) => `${i.path.join('.') || '(spec)'}: ${i.message}`).join('; ')}`);
}

/** Stable JSON (sorted keys) so equal specs hash equal. */
export function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o).filter((k) => o[k] !== undefined).sort().map((k) => `${JSON.stringify(k)}:${canonicalJson(o[k])}`).join(',')}}`;
  }
  return JSON.stringify(v);
}

export const specHash = (s: JobSpec): string => createHash('sha256').update(canonicalJson(s)).digest('hex');

/** Human-readable list of the fields where two specs differ (for a refused --resume). */
export function specDiff(a: unknown, b: unknown, path = ''): string[] {
  if (canonicalJson(a) === canonicalJson(b)) return [];
  if (a && b && typeof a === 'object' && typeof b === 'object' && !Array.isArray(a) && !Array.isArray(b)) {
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    return [...keys].flatMap((k) => specDiff((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], path ? `${path}.${k}` : k));
  }
  return [`${path || '(spec)'}: ${JSON.stringify(a)} -> ${JSON.stringify(b)}`];
}
