// `mtv extract`, `mtv locate`, `mtv run`: mean activations and head locations into an artifact.
import type { Command } from 'commander';
import type { VisionLanguageModel } from '@mtv/model';
import { writeArtifact } from '../../artifact/io.js';
import { extendArtifact } from '../../artifact/combine.js';
import type { MtvArtifact } from '../../artifact/types.js';
import type { Dataset } from '../../datasets/types.js';
import { extract } from '../../extract/extract.js';
import type { LocatorEvent } from '../../locate/run.js';
import { runRecord, sumsArtifact, withLocatedHeads } from '../../pipeline/run.js';
import { locate } from '../../rollouts/locate.js';
import { checkNotAmong, checkOutputs } from '../../io/output-path.js';

const imagesOf = (d: Dataset): string[] => d.examples.flatMap((e) => [...e.images]);
import { CliError, progressBar, writeJson, writeLine, type CliIo } from '../io.js';
import { openArtifact, openDataset, openModel } from '../load.js';
import {
  addCommon, addData, addExtract, addLocate, addModel, locateOptions, shotsFor,
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

async function doExtract(io: CliIo, model: VisionLanguageModel, data: Dataset, f: ExtractFlags & CommonFlags & { allowMixed?: boolean; extend?: string }, extend?: MtvArtifact): Promise<MtvArtifact> {
  const shots = shotsFor(data, f.shots);
  if (extend) checkExtendRuns(f.extend ?? 'artifact', extend, data.hash, shots, f.allowMixed ?? false);
  const firstRound = extend
    ? extend.provenance.runs.filter((r) => String(r.seed) === String(f.seed) && r.datasetHash === data.hash && r.shots === shots).reduce((m, r) => Math.max(m, r.firstRound + r.rounds), 0)
    : 0;
  const bar = progressBar(io, 'extract', f.rounds, f.quiet ?? false);
  const opts = { seed: f.seed, shots, rounds: f.rounds, shardSize: f.shardSize, firstRound, ...(f.instruction ? { prompt: { instruction: f.instruction } } : {}) };
  try {
    const sums = await extract(model, data, { ...opts, onRound: (d) => bar.update(d) });
    const run = runRecord(data, opts);
    return extend ? extendArtifact(extend, sums, run, { heads: 'keep' }) : await sumsArtifact(model, sums, run);
  } finally {
    bar.stop();
  }
}

async function doLocate(io: CliIo, model: VisionLanguageModel, data: Dataset, base: MtvArtifact, f: LocateFlags & CommonFlags & { seed?: number | string; format: string; root?: string; onBadImage?: 'skip' | 'fail'; instruction?: string }): Promise<MtvArtifact> {
  const opts = locateOptions(f);
  const validation = f.validationData ? await openDataset({ data: f.validationData, format: f.format, ...(f.root ? { root: f.root } : {}), ...(f.onBadImage ? { onBadImage: f.onBadImage } : {}) }) : undefined;
  const bar = progressBar(io, `locate (${opts.mode})`, f.steps, f.quiet ?? false);
  const onEvent = (e: LocatorEvent): void => {
    if (e.kind === 'step') bar.update(e.state.step);
    else if (e.kind === 'validation' && !f.json && !f.quiet) io.stderr.write(`\nvalidation after step ${e.step}: mean CE ${e.loss.toFixed(4)}\n`);
  };
  try {
    const r = await locate(model, data, base.sums.means(), { ...opts, ...(validation ? { validation } : {}), ...(f.instruction ? { prompt: { instruction: f.instruction } } : {}), onEvent });
    return withLocatedHeads(base, r, opts.mode ?? 'prefix');
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
        const a = await doExtract(io, model, data, f, prev);
        await writeArtifact(f.out, a);
        report(io, f, f.out, a);
      });
    });

  addCommon(addLocate(addData(addModel(program.command('locate').description('REINFORCE head locations on an artifact\'s means -> artifact with heads')))))
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
        const base = await doExtract(io, model, data, f);
        const a = await doLocate(io, model, data, base, f);
        await writeArtifact(f.out, a);
        report(io, f, f.out, a);
      });
    });
}

