// Command-line flags -> a JobSpec (or a JSON spec file). Defaults are small enough for a CPU demo;
// the paper's settings are --rounds 100 --shots 4..16 --steps 600 --samples 32.
import { readJsonFile } from '@mtv/model';
import { basename, resolve } from 'node:path';
import type { Command } from 'commander';
import { canonicalEvalMode } from '@mtv/mtv';
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
  model?: string;
  modelHash?: string;
  geometry?: string;
  jobId?: string;
  seed: string;
  shots: string;
  rounds: string;
  shardSize: string;
  locate: boolean;
  steps: string;
  samples: string;
  reinforce: string;
  selection: string;
  validation: string;
  validateEvery: string;
  finalSamples: string;
  lr: string;
  eval: boolean;
  evalN: string;
  evalShots?: string;
  modes: string;
  maxNewTokens: string;
  evalShardSize: string;
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
    .option('--model <dir>', 'model checkpoint directory (hash and geometry are read from it)')
    .option('--model-hash <hash>', 'model hash, when the coordinator has no copy of the weights')
    .option('--geometry <L,H,D>', 'layers,heads,headDim with --model-hash')
    .option('--job-id <id>', 'job id (default: derived from the dataset name)')
    .option('--seed <n>', 'seed of the round sampling, the locator and the eval', '0')
    .option('--shots <n>', 'ICL shots per extraction round', '4')
    .option('--rounds <n>', 'extraction rounds (shots compressed = rounds x shots)', '100')
    .option('--shard-size <n>', 'rounds per extract shard (fixed: part of the result\'s definition)', '4')
    .option('--no-locate', 'skip the REINFORCE head location')
    .option('--steps <n>', 'REINFORCE steps', '60')
    .option('--samples <n>', 'masks per REINFORCE step', '32')
    .option('--reinforce <n>', 'size of the REINFORCE query set', '100')
    .option('--selection <n>', 'examples the final candidates are compared on', '20')
    .option('--validation <n>', 'held-out validation examples (0: none)', '20')
    .option('--validate-every <n>', 'validate every n steps (0: never)', '20')
    .option('--final-samples <n>', 'final candidate masks', '10')
    .option('--lr <x>', 'Adam learning rate', '0.1')
    .option('--no-eval', 'skip the evaluation')
    .option('--eval-n <n>', 'evaluated queries', '50')
    .option('--eval-shots <n>', 'shots of the ICL eval modes (default: --shots)')
    .option('--modes <list>', `eval modes, comma-separated: ${EVAL_PHASE_MODES.join(', ')}`, 'zero-shot,icl,mtv')
    .option('--max-new-tokens <n>', 'tokens generated per eval query', '4')
    .option('--eval-shard-size <n>', 'eval queries per shard', '5')
    .option('--out <file>', 'MTV artifact path (default: <state>/mtv.safetensors)');
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
  const shots = int('shots', f.shots);
  const dataRef = (file: string) => ({ file: resolve(file), format: f.format, ...(f.root ? { root: resolve(f.root) } : {}), ...(f.instruction !== undefined ? { instruction: f.instruction } : {}) });
  const spec = {
    jobId: f.jobId ?? (basename(f.data).replace(/\.[^.]*$/, '').replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 64) || 'job'),
    data: dataRef(f.data),
    ...(f.evalData ? { evalData: dataRef(f.evalData) } : {}),
    model,
    extract: { seed, shots, rounds: int('rounds', f.rounds), shardSize: int('shard-size', f.shardSize) },
    locate: f.locate
      ? {
          seed, steps: int('steps', f.steps), samplesPerStep: int('samples', f.samples), reinforceSize: int('reinforce', f.reinforce),
          selectionSize: int('selection', f.selection), validationSize: int('validation', f.validation), validateEvery: int('validate-every', f.validateEvery),
          finalSamples: int('final-samples', f.finalSamples), lr: Number(f.lr),
        }
      : null,
    eval: f.eval
      ? {
          seed, n: int('eval-n', f.evalN), shots: int('eval-shots', f.evalShots ?? f.shots), modes: f.modes.split(',').map((m) => m.trim()).filter(Boolean).map((m) => canonicalEvalMode(m) ?? m),
          maxNewTokens: int('max-new-tokens', f.maxNewTokens), shardSize: int('eval-shard-size', f.evalShardSize),
        }
      : null,
    out: resolve(f.out ?? `${stateDir}/mtv.safetensors`),
  };
  return parseJobSpec(spec, 'command line');
}
