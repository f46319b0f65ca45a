// Option groups shared by several subcommands, and their translation into library options.
import { Option, type Command } from 'commander';
import type { Dataset } from '../datasets/types.js';
import { defaultShots } from '../pipeline/prompts.js';
import type { LocateOptions } from '../rollouts/locate.js';
import { intArg, numArg, seedArg } from './io.js';
import { LOCATOR_KINDS, parseLocatorKind, type LocatorKind } from '../locators/types.js';
import { DEFAULT_STV } from '../locators/stv.js';
import { DEFAULT_BANK_ROUNDS } from '../locators/round-stats.js';
import type { LocatorChoice } from '../locators/run.js';
import { parseLocatorObjective, type LocatorObjective } from '../locate/objective.js';

export interface CommonFlags {
  json?: boolean;
  quiet?: boolean;
}

export interface ModelFlags {
  model: string;
  weights?: string;
}

export interface DataFlags {
  data: string;
  format: string;
  root?: string;
  onBadImage?: 'skip' | 'fail';
}

export interface ExtractFlags {
  seed: number | string;
  shots?: number;
  rounds: number;
  shardSize: number;
  instruction?: string;
}

export interface LocateFlags {
  locatorSeed?: number | string;
  steps: number;
  samples: number;
  lr: number;
  initLogit: number;
  validateEvery: number;
  finalSamples: number;
  threshold?: number;
  objective: LocatorObjective;
  reinforceSize: number;
  selectionSize: number;
  validationSize: number;
  validationData?: string;
  naive?: boolean;
  locator: LocatorKind;
  k?: number;
  kGrid?: number[];
  clusters: number;
  bankRounds: number;
  stvSteps: number;
  stvSamples: number;
}

export const addCommon = (c: Command): Command =>
  c.option('--json', 'machine-readable JSON on stdout').option('-q, --quiet', 'no progress bars on stderr');

export const addModel = (c: Command): Command =>
  c.requiredOption('-m, --model <dir>', 'Hugging Face LLaVA model directory').option('--weights <dtype>', 'matmul weights on the device: f16 (default) or f32')
    .option('--max-image-pixels <n>', 'refuse images over n pixels from their header, before decoding (default: $MTV_MAX_IMAGE_PIXELS, else the processor\'s need capped at Pillow\'s 89478485)', maxPixelsArg);

/** --max-image-pixels: also set in the environment, where every image decode of this process (and its children) reads it. */
const maxPixelsArg = (v: string): number => {
  const n = intArg(1)(v);
  process.env.MTV_MAX_IMAGE_PIXELS = String(n);
  return n;
};

export const addData = (c: Command, flag = '--data <file>'): Command =>
  c.requiredOption(flag, 'dataset file')
    .requiredOption('-f, --format <format>', 'dataset format: jsonl, vizwiz, okvqa, flower, cub, dtd')
    .option('--root <dir>', 'data root every image path must stay inside (default: the file\'s directory)')
    .addOption(new Option('--on-bad-image <policy>', 'missing/undecodable images: fail or skip').choices(['fail', 'skip']).default('fail'));

export const addExtract = (c: Command): Command =>
  c.option('--seed <seed>', 'sampling seed', seedArg, 0)
    .option('--shots <k>', 'ICL shots per round (default as the reference: 16 for vizwiz, 0 for the 2-way formats, else 4)', intArg(0))
    .option('--rounds <n>', 'rounds of mean activations (paper: 100)', intArg(1), 100)
    .option('--shard-size <n>', 'rounds per shard (fixed per run; distributed runs must use the same)', intArg(1), 10)
    .option('--instruction <text>', 'jsonl format: text before the first shot');

export const addLocate = (c: Command): Command =>
  c.option('--locator-seed <seed>', 'locator seed (default: --seed)', seedArg)
    .option('--steps <n>', 'REINFORCE steps', intArg(1), 600)
    .option('--samples <n>', 'masks per step', intArg(2), 32)
    .option('--lr <x>', 'Adam learning rate', numArg, 0.1)
    .option('--init-logit <x>', 'initial Bernoulli logit', numArg, -1)
    .option('--validate-every <n>', 'validate every n steps (0: never)', intArg(0), 50)
    .option('--final-samples <n>', 'candidate masks for the final selection', intArg(1), 10)
    .option('--threshold <p>', 'zero probabilities <= p before the final sampling (idefics2: 0.8)', numArg)
    .option('--objective <name>', 'reinforce: rollout loss, ce (cross-entropy, the reference) or prob (1 - p(answer), robust to noisy labels)', parseLocatorObjective, 'ce')
    .option('--reinforce-size <n>', 'REINFORCE queries drawn from the data', intArg(1), 100)
    .option('--selection-size <n>', 'examples the final candidates are compared on', intArg(1), 50)
    .option('--validation-size <n>', 'held-out validation examples (0: none)', intArg(0), 50)
    .option('--validation-data <file>', 'validation dataset (same format; default: examples outside the REINFORCE set)')
    .option('--naive', 'recompute the whole prompt per mask (the reference) instead of prefix-shared batched rollouts')
    .option('--locator <name>', `head locator: ${LOCATOR_KINDS.join(', ')}`, parseLocatorKind, 'reinforce')
    .option('--k <n>', 'sensitivity/stv/random: heads to keep (default: chosen on the validation set from --k-grid)', intArg(1))
    .option('--k-grid <list>', 'sensitivity/stv/random: K values to try (default 1,2,4,...,64 up to layers x heads)', listArg)
    .option('--clusters <n>', 'stv: k-means centres per location (C)', intArg(1), DEFAULT_STV.clusters)
    .option('--bank-rounds <n>', 'stv: at most this many rounds\' activations are kept for clustering (bounded memory)', intArg(1), DEFAULT_BANK_ROUNDS)
    .option('--stv-steps <n>', 'stv: policy steps', intArg(0), DEFAULT_STV.steps)
    .option('--stv-samples <n>', 'stv: centre choices sampled per step', intArg(2), DEFAULT_STV.samplesPerStep);

const listArg = (v: string): number[] => v.split(',').map((x) => intArg(1)(x.trim()));

/** The locator settings of the flags (library LocatorChoice). */
export function locatorChoice(f: LocateFlags): LocatorChoice {
  return {
    locator: f.locator, ...(f.k !== undefined ? { k: f.k } : {}), ...(f.kGrid ? { kGrid: f.kGrid } : {}),
    clusters: f.clusters, stvSteps: f.stvSteps, stvSamples: f.stvSamples,
  };
}

export const shotsFor = (d: Dataset, shots: number | undefined): number => shots ?? defaultShots(d.format);

export function locateOptions(f: LocateFlags & { seed?: number | string }): LocateOptions {
  return {
    seed: f.locatorSeed ?? f.seed ?? 0,
    steps: f.steps, samplesPerStep: f.samples, lr: f.lr, initLogit: f.initLogit, validateEvery: f.validateEvery,
    finalSamples: f.finalSamples, finalThreshold: f.threshold ?? null, objective: f.objective,
    reinforceSize: f.reinforceSize, selectionSize: f.selectionSize, validationSize: f.validationSize,
    mode: f.naive ? 'naive' : 'prefix',
  };
}
