#!/usr/bin/env node
// Toy task suite CLI.
//   node packages/toy/dist/cli/tasks.js export --family two-way --n 100 --out data/two-way --seed 1 [--format two-way-json] [--size 16]
//   node packages/toy/dist/cli/tasks.js show --family vqa --seed 3 --shots 4
import { parseArgs } from 'node:util';
import { exitOnBrokenPipe } from '@mtv/kernels';
import { SUB_TASKS, type SubTask } from '../tasks/attributes.js';
import {
  DATASET_FORMATS, FAMILIES, TASK_FAMILIES, checkFamily, formatEpisode, toyWords, writeDataset, type DatasetFormat, type TaskOptions,
} from '../tasks/index.js';

const USAGE = `usage:
  tasks export --family <${FAMILIES.join('|')}> --n <count> --out <dir> [--seed <int>] [--format <${DATASET_FORMATS.join('|')}>] [--size <16..32>] [--noise <0..1>]
  tasks show   --family <name> [--seed <int>] [--shots <k>] [--size <16..32>]`;

function int(name: string, v: string | undefined, dflt?: number): number {
  if (v === undefined) {
    if (dflt === undefined) throw new Error(`--${name} is required\n${USAGE}`);
    return dflt;
  }
  const x = Number(v);
  if (!Number.isInteger(x)) throw new Error(`--${name} must be an integer, got '${v}'`);
  return x;
}

async function main(argv: string[]): Promise<void> {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      family: { type: 'string' }, n: { type: 'string' }, out: { type: 'string' }, seed: { type: 'string' }, format: { type: 'string' },
      size: { type: 'string' }, noise: { type: 'string' }, 'sub-task': { type: 'string' }, shots: { type: 'string' }, help: { type: 'boolean', short: 'h' },
    },
  });
  const cmd = positionals[0];
  if (values.help || !cmd) {
    console.log(USAGE);
    return;
  }
  if (!values.family) throw new Error(`--family is required\n${USAGE}`);
  const family = checkFamily(values.family);
  const opts: TaskOptions = { imageSize: int('size', values.size, 16) };
  if (values.noise !== undefined) opts.noise = Number(values.noise);
  const sub = values['sub-task'];
  if (sub !== undefined) {
    // task inference with one fixed attribute: the dataset an MTV is extracted from
    if (!(SUB_TASKS as readonly string[]).includes(sub)) throw new Error(`--sub-task must be one of ${SUB_TASKS.join(', ')}, got '${sub}'`);
    opts.subTask = sub as SubTask;
  }
  const seed = int('seed', values.seed, 0);
  if (cmd === 'export') {
    if (!values.out) throw new Error(`--out is required\n${USAGE}`);
    const n = int('n', values.n);
    const res = await writeDataset(values.out, family, n, seed, { ...opts, format: values.format as DatasetFormat | undefined });
    console.log(`wrote ${n} ${family} items (${res.format}) to ${values.out}: ${res.files.join(', ')} and ${res.images} PNGs in images/`);
  } else if (cmd === 'show') {
    const ep = TASK_FAMILIES[family].episode(seed, int('shots', values.shots, 4), opts);
    const f = formatEpisode(ep, family);
    console.log(f.prompt);
    console.log(`-> ${f.answer}    (${toyWords(f.text).length} words, ${f.images.length} images; latent ${JSON.stringify(ep.latent)})`);
  } else {
    throw new Error(`unknown command '${cmd}'\n${USAGE}`);
  }
}

exitOnBrokenPipe();
main(process.argv.slice(2)).catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : String(e));
  process.exit(1);
});
