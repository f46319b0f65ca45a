// Command-line flags -> a JobSpec (or a JSON spec file). Defaults are the reference's (600 steps, 50
// selection, 50 validation items, every eval query, shots 16 for VizWiz / 0 for 2-way / else 4, 20 new
// tokens or the checkpoint's generation_config.json); --quick is a small preset for demos and `npm start`.
import { readFile } from 'node:fs/promises';
import { readJsonFile } from '@mtv/model';
import { basename, join, resolve } from 'node:path';
import type { Command } from 'commander';
import { DATASET_FORMATS, LOCATOR_KINDS, canonicalEvalMode, defaultShots, parseLocatorObjective, type DatasetFormat } from '@mtv/mtv';
import { EVAL_PHASE_MODES, parseJobSpec, type JobSpec } from '../jobs/index.js';
import { readModelInfo } from '../fleet/index.js';
import type { Geometry } from '../protocol/index.js';

export interface SpecFlags {
  job?: string;
  data?: string;
  format: string;
  root?: string;
  instruction?: string;
  evalData?: string;
  locateData?: string;
  model?: string;
  modelHash?: string;
  geometry?: string;
  jobId?: string;
  seed: string;
  shots?: string;
  rounds: string;
  shardSize: string;
  locate: boolean;
  steps?: string;
  samples: string;
  reinforce: string;
  selection?: string;
  validation?: string;
  validateEvery?: string;
  finalSamples: string;
  lr: string;
  initLogit?: string;
  threshold?: string;
  objective?: string;
  locator?: string;
  k?: string;
  kGrid?: string;
  clusters?: string;
  bankRounds?: string;
  stvSteps?: string;
  stvSamples?: string;
  quick?: boolean;
  eval: boolean;
  evalN?: string;
  evalShots?: string;
  modes: string;
  maxNewTokens?: string;
  minNewTokens: string;
  annotations?: string;
  vqaScorer?: string;
  twoWayRule?: string;
  answerCleanup?: string;
  evalShardSize: string;
  evalSweep?: string;
  bestIclShots?: string;
  out?: string;
}

export function addSpecOptions(c: Command): Command {
  return c
    .option('--job <file>', 'a JSON job spec (overrides the job flags below)')
    .option('--data <file>', 'training dataset (on this machine; workers receive the examples)')
    .option('--format <format>', 'dataset format: jsonl, vizwiz, okvqa, flower, cub, dtd', 'jsonl')
    .option('--root <dir>', 'directory image paths resolve inside (default: the dataset file\'s)')
    .option('--instruction <text>', 'generic format: text before the first shot')
    .option('--eval-data <file>', 'held-out data for validation and evaluation (default: --data)')
    .option('--locate-data <file>', "the locator's queries (default: --data; means still come from --data), e.g. `mtv relabel`'s pseudo-labelled copy of noisy data")
    .option('--model <dir>', 'model checkpoint directory (hash and geometry are read from it)')
    .option('--model-hash <hash>', 'model hash, when the coordinator has no copy of the weights')
    .option('--geometry <L,H,D>', 'layers,heads,headDim with --model-hash')
    .option('--job-id <id>', 'job id (default: derived from the dataset name)')
    .option('--seed <n>', 'seed of the round sampling, the locator and the eval', '0')
    .option('--shots <n>', 'ICL shots per extraction round (default as the reference: 16 for vizwiz, 0 for flower/cub/dtd, else 4)')
    .option('--rounds <n>', 'extraction rounds (shots compressed = rounds x shots)', '100')
    .option('--shard-size <n>', 'rounds per extract shard (fixed: part of the result\'s definition)', '4')
    .option('--no-locate', 'skip the REINFORCE head location')
    .option('--quick', `small preset for demos and \`npm start\`: ${quickText()} (explicit flags still win)`)
    .option('--steps <n>', `REINFORCE steps (default ${REFERENCE.steps}, the reference)`)
    .option('--samples <n>', 'masks per REINFORCE step', '32')
    .option('--reinforce <n>', 'size of the REINFORCE query set', '100')
    .option('--selection <n>', `examples the final candidates are compared on (default ${REFERENCE.selection})`)
    .option('--validation <n>', `held-out validation examples (0: none; default ${REFERENCE.validation})`)
    .option('--validate-every <n>', `validate every n steps (0: never; default ${REFERENCE.validateEvery})`)
    .option('--final-samples <n>', 'final candidate masks', '10')
    .option('--lr <x>', 'Adam learning rate', '0.1')
    .option('--init-logit <x>', 'initial Bernoulli logit of every head (default -1, the reference)')
    .option('--threshold <p>', 'zero head probabilities at or below p before the final sampling (the reference: 0.8 for Idefics2; default off)')
    .option('--objective <name>', 'REINFORCE rollout loss: ce (the reference) or prob (1 - p(answer), robust to noisy labels); default ce')
    .option('--locator <name>', `head locator: ${LOCATOR_KINDS.join(', ')} (default reinforce, the paper's)`)
    .option('--k <n>', 'sensitivity/stv/random: heads kept (default: chosen on the validation set from --k-grid)')
    .option('--k-grid <list>', 'sensitivity/stv/random: K values tried (default 1,2,4,...,64 up to layers x heads)')
    .option('--clusters <n>', 'stv: k-means centres per location (default 32)')
    .option('--bank-rounds <n>', 'stv: rounds kept for clustering (default 256)')
    .option('--stv-steps <n>', 'stv: policy steps (default 40)')
    .option('--stv-samples <n>', 'stv: centre choices per step (default 16)')
    .option('--no-eval', 'skip the evaluation')
    .option('--eval-n <n>', 'evaluated queries (default: all, as the reference)')
    .option('--eval-shots <n>', 'shots of the ICL eval modes (default: --shots)')
    .option('--modes <list>', `eval modes, comma-separated: ${EVAL_PHASE_MODES.join(', ')}`, 'zero-shot,icl,mtv')
    .option('--max-new-tokens <n>', "tokens generated per eval query (default: --model's generation_config.json max_new_tokens, else 20 as the reference)")
    .option('--min-new-tokens <n>', 'end tokens are refused before this many new tokens (the reference: 1)', '1')
    .option('--annotations <file>', 'official VQA annotation JSON the eval scores against (VizWiz/OK-VQA)')
    .option('--vqa-scorer <name>', 'VQA scorer: lavis, official (default: lavis for vizwiz/okvqa, as the reference; else official)')
    .option('--two-way-rule <name>', 'option scoring: reference, lenient (default reference)')
    .option('--answer-cleanup <name>', "answer span: reference (split('.')[0].split('\\n')[0]), line (default reference)")
    .option('--eval-shard-size <n>', 'eval queries per shard', '5')
    .option('--eval-sweep <shots-list>', 'shot sweep after locate: MTV accuracy with means over the first ceil(x / shots) rounds, e.g. 16,256,2048 (needs --rounds >= the largest point\'s rounds)')
    .option('--best-icl-shots <n>', 'also ICL with this many shots (e.g. the most that fit the context), printed beside the sweep')
    .option('--out <file>', 'MTV artifact path (default: <state>/mtv.safetensors)');
}

/** The reference's settings (MTV/mtv_eval.py, eval_scripts): the defaults. */
export const REFERENCE = { steps: 600, selection: 50, validation: 50, validateEvery: 50, evalN: undefined, maxNewTokens: 20 } as const;
/** `--quick`: small enough for a CPU demo (what `npm start` runs). */
export const QUICK = { steps: 60, selection: 20, validation: 20, validateEvery: 20, evalN: 50 } as const;
const quickText = (): string => `--steps ${QUICK.steps} --selection ${QUICK.selection} --validation ${QUICK.validation} --validate-every ${QUICK.validateEvery} --eval-n ${QUICK.evalN}`;

const oneOf = (flag: string, known: readonly string[], v: string | undefined): string | undefined => {
  if (v === undefined || known.includes(v)) return v;
  throw new Error(`--${flag}: unknown ${JSON.stringify(v)}; known: ${known.join(', ')}`);
};

/** generation_config.json's max_new_tokens in a model directory, or null. */
export async function generationMaxNewTokens(dir: string): Promise<number | null> {
  let text: string;
  try {
    text = await readFile(join(dir, 'generation_config.json'), 'utf8');
  } catch {
    return null;
  }
  const v = (JSON.parse(text) as { max_new_tokens?: unknown }).max_new_tokens;
  return Number.isInteger(v) && (v as number) > 0 ? (v as number) : null;
}

const int = (name: string, v: string): number => {
  const n = Number(v);
  if (!Number.isInteger(n)) throw new Error(`--${name} must be an integer, got '${v}'`);
  return n;
};

const seedOf = (v: string): number | string => (/^\d+$/.test(v) ? Number(v) : v);

function parseGeometry(v: string): Geometry {
  const parts = v.split(',').map((x) => Number(x));
  if (parts.length !== 3 || !parts.every((x) => Number.isInteger(x) && x > 0)) throw new Error(`--geometry must be L,H,D positive integers, got '${v}'`);
  return { layers: parts[0]!, heads: parts[1]!, headDim: parts[2]! };
}

/** --locator and its settings; absent flags stay absent (reinforce specs hash as before). */
function locatorFields(f: SpecFlags): Record<string, unknown> {
  const o = (flag: string, v: string | undefined): Record<string, number> => (v !== undefined ? { [flag]: int(flag, v) } : {});
  return {
    ...(f.locator !== undefined ? { locator: oneOf('locator', LOCATOR_KINDS, f.locator) } : {}),
    ...o('k', f.k),
    ...(f.kGrid !== undefined ? { kGrid: f.kGrid.split(',').map((x) => int('k-grid', x.trim())) } : {}),
    ...(f.clusters !== undefined ? { clusters: int('clusters', f.clusters) } : {}),
    ...(f.bankRounds !== undefined ? { bankRounds: int('bank-rounds', f.bankRounds) } : {}),
    ...(f.stvSteps !== undefined ? { stvSteps: int('stv-steps', f.stvSteps) } : {}),
    ...(f.stvSamples !== undefined ? { stvSamples: int('stv-samples', f.stvSamples) } : {}),
  };
}

/** The spec a command line describes. `stateDir` provides the default artifact path. */
export async function specFromFlags(f: SpecFlags, stateDir: string): Promise<JobSpec> {
  if (f.job) {
    const raw = await readJsonFile(f.job, (why) => new Error(`--job ${f.job}: ${why}`));
    return parseJobSpec(raw, `--job ${f.job}`);
  }
  if (!f.data) throw new Error('give --data <file> (or --job <spec.json>)');
  let model: JobSpec['model'];
  if (f.model) model = await readModelInfo(f.model);
  else if (f.modelHash && f.geometry) model = { id: f.modelHash.slice(0, 16), hash: f.modelHash, geometry: parseGeometry(f.geometry) };
  else throw new Error('give --model <dir>, or --model-hash and --geometry');
  const seed = seedOf(f.seed);
  const format = oneOf('format', DATASET_FORMATS, f.format) as DatasetFormat;
  const shots = f.shots !== undefined ? int('shots', f.shots) : defaultShots(format);
  const preset = f.quick ? QUICK : REFERENCE;
  const pick = (name: string, v: string | undefined, d: number): number => (v !== undefined ? int(name, v) : d);
  const evalN = f.evalN !== undefined ? int('eval-n', f.evalN) : preset.evalN;
  const maxNewTokens = f.maxNewTokens !== undefined ? int('max-new-tokens', f.maxNewTokens) : ((f.model ? await generationMaxNewTokens(f.model) : null) ?? REFERENCE.maxNewTokens);
  const dataRef = (file: string) => ({ file: resolve(file), format: f.format, ...(f.root ? { root: resolve(f.root) } : {}), ...(f.instruction !== undefined ? { instruction: f.instruction } : {}) });
  const spec = {
    jobId: f.jobId ?? (basename(f.data).replace(/\.[^.]*$/, '').replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 64) || 'job'),
    data: dataRef(f.data),
    ...(f.evalData ? { evalData: dataRef(f.evalData) } : {}),
    ...(f.locateData ? { locateData: dataRef(f.locateData) } : {}),
    model,
    extract: { seed, shots, rounds: int('rounds', f.rounds), shardSize: int('shard-size', f.shardSize) },
    locate: f.locate
      ? {
          seed, steps: pick('steps', f.steps, preset.steps), samplesPerStep: int('samples', f.samples), reinforceSize: int('reinforce', f.reinforce),
          selectionSize: pick('selection', f.selection, preset.selection), validationSize: pick('validation', f.validation, preset.validation),
          validateEvery: pick('validate-every', f.validateEvery, preset.validateEvery),
          finalSamples: int('final-samples', f.finalSamples), lr: Number(f.lr),
          ...(f.initLogit !== undefined ? { initLogit: Number(f.initLogit) } : {}), ...(f.threshold !== undefined ? { threshold: Number(f.threshold) } : {}),
          ...(f.objective !== undefined ? { objective: parseLocatorObjective(f.objective) } : {}),
          ...locatorFields(f),
        }
      : null,
    eval: f.eval
      ? {
          seed, ...(evalN !== undefined ? { n: evalN } : {}), shots: f.evalShots !== undefined ? int('eval-shots', f.evalShots) : shots, modes: f.modes.split(',').map((m) => m.trim()).filter(Boolean).map((m) => canonicalEvalMode(m) ?? m),
          maxNewTokens, minNewTokens: int('min-new-tokens', f.minNewTokens), shardSize: int('eval-shard-size', f.evalShardSize),
          ...(f.annotations ? { annotations: resolve(f.annotations) } : {}),
          ...(f.vqaScorer !== undefined ? { vqaScorer: oneOf('vqa-scorer', ['lavis', 'official'], f.vqaScorer) } : {}),
          ...(f.twoWayRule !== undefined ? { optionRule: oneOf('two-way-rule', ['reference', 'lenient'], f.twoWayRule) } : {}),
          ...(f.answerCleanup !== undefined ? { answerCleanup: oneOf('answer-cleanup', ['reference', 'line'], f.answerCleanup) } : {}),
          ...(f.evalSweep !== undefined ? { sweep: f.evalSweep.split(',').map((x) => int('eval-sweep', x.trim())) } : {}),
          ...(f.bestIclShots !== undefined ? { bestIclShots: int('best-icl-shots', f.bestIclShots) } : {}),
        }
      : null,
    out: resolve(f.out ?? `${stateDir}/mtv.safetensors`),
  };
  return parseJobSpec(spec, 'command line');
}
