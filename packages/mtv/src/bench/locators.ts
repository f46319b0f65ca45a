// `npm run bench -w @mtv/mtv -- --locators`: every head locator on the demo model over three demo tasks
// (task inference asking for the shape, for the colour, and for the count), one table: accuracy with
// its 95% interval for zero-shot, 4-shot ICL and each locator's MTV, and each locator's search cost (forward passes, prompt prefills, wall seconds).
// REINFORCE runs with the paper's defaults (600 steps x 32 masks); random heads take REINFORCE's K.
// Data are exported by @mtv/toy's CLI (a child process: @mtv/mtv does not depend on @mtv/toy).
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Gpu } from '@mtv/kernels';
import { loadModel, type VisionLanguageModel } from '@mtv/model';
import { loadDataset } from '../datasets/load.js';
import type { Dataset } from '../datasets/types.js';
import { evaluate, type ModeSummary } from '../evaluate/harness.js';
import { collect } from '../locators/collect.js';
import { locateHeads, locatedValues } from '../locators/run.js';
import type { Located, LocatorKind } from '../locators/types.js';

export interface LocatorBenchOptions {
  readonly model?: string;
  /** Extraction rounds (paper: 100), eval queries, REINFORCE steps (paper: 600). */
  readonly rounds: number;
  readonly evalN: number;
  readonly steps: number;
  readonly quick: boolean;
  readonly log: (s: string) => void;
}

interface Row {
  task: string;
  method: string;
  k: string;
  summary: ModeSummary;
  cost: Located['cost'] | null;
}

const TASKS = [
  { name: 'shape', args: ['--family', 'task-inference', '--sub-task', 'shape'], file: 'task-inference.jsonl' },
  { name: 'colour', args: ['--family', 'task-inference', '--sub-task', 'colour'], file: 'task-inference.jsonl' },
  // Two-way is left out: as generic JSONL each item has its own nonsense labels, so other items' shots
  // cannot teach its mapping (4-shot ICL scores 0 on the demo model), and in the reference 2-way format
  // both class examples are part of every prompt, so zero-shot and ICL would be the same prompt.
  { name: 'count', args: ['--family', 'task-inference', '--sub-task', 'count'], file: 'task-inference.jsonl' },
] as const;

async function exportTask(dir: string, args: readonly string[], file: string, n: number, seed: number): Promise<Dataset> {
  const cli = fileURLToPath(new URL('../../../toy/dist/cli/tasks.js', import.meta.url));
  if (!existsSync(cli)) throw new Error(`the locator bench exports its data with ${cli}; build the repo first (npx tsc -b)`);
  execFileSync(process.execPath, [cli, 'export', ...args, '--n', String(n), '--out', dir, '--seed', String(seed)], { stdio: 'ignore' });
  return loadDataset({ file: join(dir, file), format: 'jsonl' });
}

const pct = (x: number): string => (100 * x).toFixed(1);

export function formatLocatorTable(rows: readonly Row[]): string {
  const head = ['task', 'method', 'K', 'n', 'accuracy', '95% interval', 'search fwd passes', 'prefills', 'search s'];
  const body = rows.map((r) => [
    r.task, r.method, r.k, String(r.summary.n), pct(r.summary.accuracy), `[${pct(r.summary.lower)}, ${pct(r.summary.upper)}]`,
    r.cost ? String(r.cost.forwardPasses) : '-', r.cost ? String(r.cost.prefills) : '-', r.cost ? r.cost.seconds.toFixed(1) : '-',
  ]);
  const w = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]): string => cells.map((c, i) => c.padEnd(w[i]!)).join('  ').trimEnd();
  return [line(head), line(w.map((x) => '-'.repeat(x))), ...body.map(line)].join('\n');
}

async function benchTask(model: VisionLanguageModel, task: (typeof TASKS)[number], dir: string, o: LocatorBenchOptions): Promise<Row[]> {
  const train = await exportTask(join(dir, `${task.name}-train`), task.args, task.file, o.quick ? 40 : 300, 3);
  const test = await exportTask(join(dir, `${task.name}-test`), task.args, task.file, o.quick ? 10 : o.evalN, 4);
  const evalOpts = { n: o.evalN, seed: 0 };
  const rows: Row[] = [];
  const base = await evaluate(model, test, { ...evalOpts, modes: ['zero-shot', 'icl'], shots: 4, train });
  rows.push({ task: task.name, method: 'zero-shot', k: '-', summary: base.summaries[0]!, cost: null });
  rows.push({ task: task.name, method: '4-shot ICL', k: '-', summary: base.summaries[1]!, cost: null });
  const t0 = performance.now();
  const c = await collect(model, train, { seed: 0, shots: 4, rounds: o.rounds, shardSize: 10, bank: true });
  o.log(`  ${task.name}: extract ${o.rounds} rounds x 4 shots (+ zero-shot taps) ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  const means = c.sums.means();
  const [, , D] = model.headShape;
  const common = { seed: 0, steps: o.steps, ...(o.quick ? { reinforceSize: 8, selectionSize: 4, validationSize: 4, finalSamples: 2, validateEvery: 0, stvSteps: 2, stvSamples: 2, clusters: 4 } : {}) };
  let reinforceK = 0;
  for (const locator of ['reinforce', 'sensitivity', 'stv', 'random'] as LocatorKind[]) {
    const r = await locateHeads(model, train, means, c.stats, { ...common, locator, ...(locator === 'random' ? { k: Math.max(1, reinforceK) } : {}) });
    if (locator === 'reinforce') reinforceK = r.k;
    const ev = await evaluate(model, test, { ...evalOpts, modes: ['mtv'], vector: { means: locatedValues(means, r, D), heads: r.heads } });
    o.log(`  ${task.name}: ${locator} K=${r.k} acc ${pct(ev.summaries[0]!.accuracy)} search ${r.cost.forwardPasses} fwd, ${r.cost.seconds.toFixed(1)} s`);
    rows.push({ task: task.name, method: locator === 'random' ? 'random (K of reinforce)' : locator, k: String(r.k), summary: ev.summaries[0]!, cost: r.cost });
  }
  return rows;
}

export async function benchLocators(o: LocatorBenchOptions): Promise<{ rows: Row[]; table: string }> {
  const demo = fileURLToPath(new URL('../../../toy/demo-model', import.meta.url));
  const modelDir = o.model ?? demo;
  if (!existsSync(join(modelDir, 'config.json'))) throw new Error(`--locators needs the demo model at ${demo} (or --model DIR)`);
  const gpu = await Gpu.create();
  const model = await loadModel(modelDir, { gpu, weightDtype: 'f32' });
  const dir = await mkdtemp(join(tmpdir(), 'mtv-bench-loc-'));
  try {
    o.log(`locators on ${modelDir}: heads ${model.headShape.join('x')}, ${o.rounds} rounds x 4 shots, REINFORCE ${o.steps} steps x 32 masks, ${o.evalN} eval queries per mode`);
    const rows: Row[] = [];
    for (const task of TASKS) rows.push(...(await benchTask(model, task, dir, o)));
    return { rows, table: formatLocatorTable(rows) };
  } finally {
    await model.close();
    gpu.destroy();
    await rm(dir, { recursive: true, force: true });
  }
}
