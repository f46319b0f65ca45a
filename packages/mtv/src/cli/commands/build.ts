// `mtv extract`, `mtv locate`, `mtv run`: mean activations and head locations into an artifact.
import type { Command } from 'commander';
import type { VisionLanguageModel } from '@mtv/model';
import { writeArtifact } from '../../artifact/io.js';
import { extendArtifact } from '../../artifact/combine.js';
import type { MtvArtifact } from '../../artifact/types.js';
import type { Dataset } from '../../datasets/types.js';
import { extract } from '../../extract/extract.js';
import type { LocatorEvent } from '../../locate/run.js';
import { runRecord, sumsArtifact, withLocated, withLocatedHeads } from '../../pipeline/run.js';
import { collect } from '../../locators/collect.js';
import { checkLocatorChoice, locateHeads } from '../../locators/run.js';
import { DEFAULT_BANK_ROUNDS, type RoundStats } from '../../locators/round-stats.js';
import { locate } from '../../rollouts/locate.js';
import { checkNotAmong, checkOutputs } from '../../io/output-path.js';

import { CliError, progressBar, writeJson, writeLine, type CliIo } from '../io.js';
import { imagesOf, openArtifact, openDataset, openModel } from '../load.js';
import {
  addCommon, addData, addExtract, addLocate, addModel, locateOptions, locatorChoice, shotsFor,
  type CommonFlags, type DataFlags, type ExtractFlags, type LocateFlags, type ModelFlags,
} from '../options.js';
import { headsGrid } from './inspect.js';

export async function withModel<T>(io: CliIo, f: ModelFlags, fn: (m: VisionLanguageModel) => Promise<T>): Promise<T> {
  const model = await openModel(io, f.model, f.weights);
  try {
    return await fn(model);
  } finally {
    await model.close();
  }
}

/** Inputs every build command reads: the model folder, the dataset, its image root. */
const buildInputs = (f: ModelFlags & DataFlags & { validationData?: string }): { flag: string; path: string | undefined; dir?: boolean }[] => [
  { flag: '--model', path: f.model, dir: true }, { flag: '--data', path: f.data }, { flag: '--root', path: f.root, dir: true },
  { flag: '--validation-data', path: f.validationData },
];

/**
 * `--extend` adds rounds to an artifact's mean: rounds of another dataset or another number of shots
 * would silently mix two tasks (or a 4-shot and a 2-shot mean) into one; refused unless --allow-mixed.
 */
export function checkExtendRuns(file: string, prev: MtvArtifact, datasetHash: string, shots: number, allowMixed: boolean): void {
  if (allowMixed) return;
  const other = prev.provenance.runs.filter((r) => r.shots !== shots || r.datasetHash !== datasetHash);
  if (other.length === 0) return;
  const r = other[0]!;
  const why = [r.shots !== shots ? `${r.shots} shots per round there, ${shots} here` : '', r.datasetHash !== datasetHash ? `dataset ${r.datasetHash.slice(0, 12)} there, ${datasetHash.slice(0, 12)} here` : ''].filter(Boolean).join('; ');
  throw new CliError(`--extend ${file}: its rounds were extracted with other settings (${why}); mixing them averages different prompts into one mean. Use the same --data and --shots, or pass --allow-mixed to mix them on purpose`);
}

/** Whether a locator needs collect()'s per-round statistics (zero-shot taps; for stv the bank). */
const needsStats = (f: Partial<LocateFlags>): boolean => f.locator === 'sensitivity' || f.locator === 'stv';

async function doExtract(io: CliIo, model: VisionLanguageModel, data: Dataset, f: ExtractFlags & CommonFlags & Partial<LocateFlags> & { allowMixed?: boolean; extend?: string }, extend?: MtvArtifact): Promise<{ artifact: MtvArtifact; stats: RoundStats | null }> {
  const shots = shotsFor(data, f.shots);
  if (extend) checkExtendRuns(f.extend ?? 'artifact', extend, data.hash, shots, f.allowMixed ?? false);
  const firstRound = extend
    ? extend.provenance.runs.filter((r) => String(r.seed) === String(f.seed) && r.datasetHash === data.hash && r.shots === shots).reduce((m, r) => Math.max(m, r.firstRound + r.rounds), 0)
    : 0;
  const bar = progressBar(io, 'extract', f.rounds, f.quiet ?? false);
  const opts = { seed: f.seed, shots, rounds: f.rounds, shardSize: f.shardSize, firstRound, ...(f.instruction ? { prompt: { instruction: f.instruction } } : {}) };
  try {
    // sensitivity / stv: the same ICL taps (same sums, bit for bit) plus the zero-shot taps and the bank.
    let stats: RoundStats | null = null;
    let sums;
    if (needsStats(f)) {
      const c = await collect(model, data, { ...opts, bank: f.locator === 'stv', bankRounds: f.bankRounds ?? DEFAULT_BANK_ROUNDS, onRound: (d) => bar.update(d) });
      ({ sums, stats } = c);
    } else sums = await extract(model, data, { ...opts, onRound: (d) => bar.update(d) });
    const run = runRecord(data, opts);
    return { artifact: extend ? extendArtifact(extend, sums, run, { heads: 'keep' }) : await sumsArtifact(model, sums, run), stats };
  } finally {
    bar.stop();
  }
}

/**
 * `mtv locate --locator sensitivity|stv` on an artifact of sums: the per-round statistics are not in it,
 * so the artifact's rounds of this dataset are tapped again (ICL and zero-shot), run by run.
 */
async function retapStats(model: VisionLanguageModel, data: Dataset, a: MtvArtifact, f: LocateFlags & { instruction?: string }): Promise<RoundStats> {
  const runs = a.provenance.runs.filter((r) => r.datasetHash === data.hash);
  if (f.locator === 'stv' && runs.length > 1) throw new CliError(`--locator stv: the artifact holds ${runs.length} runs of this --data; its bank can only be re-tapped from one run (the runs' round ids overlap). Use mtv run --locator stv, or locate an artifact of one run`);
  if (runs.length === 0) throw new CliError(`--locator ${f.locator}: none of the artifact's ${a.provenance.runs.length} runs used this --data (dataset hash ${data.hash.slice(0, 12)}); the per-round statistics can only be re-tapped from the same data`);
  let total: RoundStats | null = null;
  for (const r of runs) {
    const c = await collect(model, data, { seed: r.seed, shots: r.shots, rounds: r.rounds, shardSize: r.shardSize, firstRound: r.firstRound, bank: f.locator === 'stv', bankRounds: f.bankRounds, ...(f.instruction ? { prompt: { instruction: f.instruction } } : {}) });
    total = total ? total.merge(c.stats.toData()) : c.stats;
  }
  return total!;
}

async function doLocate(io: CliIo, model: VisionLanguageModel, data: Dataset, base: MtvArtifact, f: LocateFlags & CommonFlags & { seed?: number | string; format: string; root?: string; onBadImage?: 'skip' | 'fail'; instruction?: string }, stats: RoundStats | null = null): Promise<MtvArtifact> {
  const opts = locateOptions(f);
  const choice = locatorChoice(f);
  const [L, H] = model.headShape;
  checkLocatorChoice(choice, L, H, base.sums.count);
  const validation = f.validationData ? await openDataset({ data: f.validationData, format: f.format, ...(f.root ? { root: f.root } : {}), ...(f.onBadImage ? { onBadImage: f.onBadImage } : {}) }) : undefined;
  const kind = choice.locator ?? 'reinforce';
  const total = kind === 'reinforce' ? f.steps : kind === 'stv' ? f.stvSteps : 1;
  const bar = progressBar(io, kind === 'reinforce' ? `locate (${opts.mode})` : `locate (${kind})`, total, f.quiet ?? false);
  const onEvent = (e: LocatorEvent): void => {
    if (e.kind === 'step') bar.update(e.state.step);
    else if (e.kind === 'validation' && !f.json && !f.quiet) io.stderr.write(`\nvalidation after step ${e.step}: mean CE ${e.loss.toFixed(4)}\n`);
  };
  try {
    const prompt = f.instruction ? { prompt: { instruction: f.instruction } } : {};
    if (kind === 'reinforce') {
      const r = await locate(model, data, base.sums.means(), { ...opts, ...(validation ? { validation } : {}), ...prompt, onEvent });
      return withLocatedHeads(base, r, opts.mode ?? 'prefix');
    }
    const st = needsStats(f) ? stats ?? await retapStats(model, data, base, f) : null;
    const r = await locateHeads(model, data, base.sums.means(), st, { ...opts, ...choice, ...(validation ? { validation } : {}), ...prompt, onStvStep: (s) => bar.update(s.step) });
    bar.update(total);
    return withLocated(base, r, 'prefix', { locatorSeed: String(opts.seed ?? 0), ...(kind === 'stv' ? { stvSteps: f.stvSteps, stvSamples: f.stvSamples, bankRounds: f.bankRounds } : {}) });
  } finally {
    bar.stop();
  }
}

function report(io: CliIo, f: CommonFlags, out: string, a: MtvArtifact): void {
  const [L, H, D] = a.sums.shape;
  const heads = a.heads ? a.heads.reduce((s, v) => s + v, 0) : null;
  if (f.json) {
    writeJson(io, { out, shape: [L, H, D], count: a.sums.count, heads, selectionLoss: a.provenance.notes?.selectionLoss ?? null, mask: a.heads, provenance: a.provenance });
    return;
  }
  writeLine(io.stdout, `wrote ${out}: ${a.sums.count} rounds, heads [${L}, ${H}, ${D}]` + (heads === null ? ', no heads located' : `, ${heads} of ${L * H} heads chosen`));
  if (a.heads) writeLine(io.stdout, headsGrid(a.heads, L, H));
}

export function registerBuild(program: Command, io: CliIo): void {
  addCommon(addExtract(addData(addModel(program.command('extract').description('mean activations of the heads at the last prompt token -> artifact (no heads)')))))
    .requiredOption('-o, --out <file>', 'artifact to write (.safetensors)')
    .option('--extend <artifact>', 'add these rounds to an existing artifact (rounds continue after its last round of this seed); -o may name it: it is replaced atomically')
    .option('--allow-mixed', '--extend: allow rounds of another dataset or another --shots in one mean')
    .action(async (f: ModelFlags & DataFlags & ExtractFlags & CommonFlags & { out: string; extend?: string; allowMixed?: boolean }) => {
      await checkOutputs([{ flag: '-o', path: f.out }], [...buildInputs(f), { flag: '--extend', path: f.extend, replaceable: true }]);
      const data = await openDataset(f);
      checkNotAmong([{ flag: '-o', path: f.out }], 'an image of --data', imagesOf(data));
      await withModel(io, f, async (model) => {
        const prev = f.extend ? await openArtifact(f.extend, model) : undefined;
        const { artifact: a } = await doExtract(io, model, data, f, prev);
        await writeArtifact(f.out, a);
        report(io, f, f.out, a);
      });
    });

  addCommon(addLocate(addData(addModel(program.command('locate').description('head locations (--locator reinforce|sensitivity|stv|random) on an artifact\'s means -> artifact with heads')))))
    .requiredOption('-a, --artifact <file>', 'artifact with activation sums (from mtv extract)')
    .option('-o, --out <file>', 'artifact to write (default: overwrite --artifact)')
    .option('--seed <seed>', 'locator seed', (v: string) => (/^\d+$/.test(v) ? Number(v) : v), 0)
    .option('--instruction <text>', 'jsonl format: text before the first shot')
    .action(async (f: ModelFlags & DataFlags & LocateFlags & CommonFlags & { artifact: string; out?: string; seed: number | string; instruction?: string }) => {
      // The default (no -o) updates --artifact in place, atomically: the output keeps all its sums.
      await checkOutputs([{ flag: f.out ? '-o' : '-a (updated in place)', path: f.out ?? f.artifact }], [...buildInputs(f), { flag: '-a', path: f.artifact, replaceable: true }]);
      const data = await openDataset(f);
      checkNotAmong([{ flag: '-o', path: f.out }], 'an image of --data', imagesOf(data));
      await withModel(io, f, async (model) => {
        const base = await openArtifact(f.artifact, model);
        const a = await doLocate(io, model, data, base, f);
        const out = f.out ?? f.artifact;
        await writeArtifact(out, a);
        report(io, f, out, a);
      });
    });

  addCommon(addLocate(addExtract(addData(addModel(program.command('run').description('extract + locate -> artifact (the whole MTV method)'))))))
    .requiredOption('-o, --out <file>', 'artifact to write (.safetensors)')
    .action(async (f: ModelFlags & DataFlags & ExtractFlags & LocateFlags & CommonFlags & { out: string }) => {
      await checkOutputs([{ flag: '-o', path: f.out }], buildInputs(f));
      const data = await openDataset(f);
      checkNotAmong([{ flag: '-o', path: f.out }], 'an image of --data', imagesOf(data));
      await withModel(io, f, async (model) => {
        const [L, H] = model.headShape;
        checkLocatorChoice(locatorChoice(f), L, H, f.rounds);
        const { artifact: base, stats } = await doExtract(io, model, data, f);
        const a = await doLocate(io, model, data, base, f, stats);
        await writeArtifact(f.out, a);
        report(io, f, f.out, a);
      });
    });
}

