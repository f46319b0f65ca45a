#!/usr/bin/env node
// Prints the ICL curve of a demo checkpoint: accuracy at 0/1/2/4/8 shots per family, with n and a
// 95 % Wilson interval, through @mtv/model's VisionLanguageModel (default) or the trainer's forward.
//   node packages/toy/dist/cli/eval.js [--model packages/toy/demo-model] [--n 100] [--seed 1]
//     [--shots 0,1,2,4,8] [--families task-inference,two-way,vqa] [--engine runtime|train]
//     [--weights f16|f32] [--json out.json]
import { isMainModule } from '@mtv/model';
import { writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { callerPath, isQuick, loadAverageLine } from '@mtv/kernels';
import { exitOnBrokenPipe } from '@mtv/kernels';
import { parseArgs } from 'node:util';
import { loadModel } from '@mtv/model';
import { iclCurve, formatIclTable, type Predictor } from '../eval/icl.js';
import { runtimePredictor, sessionFromCheckpoint, trainPredictor } from '../eval/predictors.js';
import { CHANCE } from '../tasks/families/index.js';
import { checkFamily } from '../tasks/types.js';

export async function runEval(argv: string[]): Promise<string> {
  const { values } = parseArgs({
    args: argv,
    options: {
      // Default: this package's demo model wherever the command runs from (npm runs `npm run bench
      // -w @mtv/toy` inside packages/toy); a given path resolves against the caller's directory.
      model: { type: 'string', default: fileURLToPath(new URL('../../demo-model', import.meta.url)) },
      n: { type: 'string', default: '100' },
      seed: { type: 'string', default: '1' },
      shots: { type: 'string', default: '0,1,2,4,8' },
      families: { type: 'string', default: 'task-inference,two-way,vqa' },
      engine: { type: 'string', default: 'runtime' },
      weights: { type: 'string', default: 'f16' },
      json: { type: 'string' },
    },
    strict: true,
  });
  values.model = callerPath(values.model!);
  // Quick mode (MTV_BENCH_QUICK=1 / --n from the bench-commands test): 4 queries per cell.
  const n = isQuick([]) ? 4 : Number(values.n);
  if (isQuick([])) process.stderr.write(`toy eval: QUICK MODE (n = 4), ${loadAverageLine()} at start\n`);
  const seed = Number(values.seed);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--n: expected a positive integer, got ${values.n}`);
  if (!Number.isInteger(seed)) throw new Error(`--seed: expected an integer, got ${values.seed}`);
  const shots = values.shots!.split(',').map((s) => {
    const k = Number(s);
    if (!Number.isInteger(k) || k < 0 || k > 64) throw new Error(`--shots: '${s}' is not a shot count in 0..64`);
    return k;
  });
  const families = values.families!.split(',').map(checkFamily);
  if (values.weights !== 'f16' && values.weights !== 'f32') throw new Error(`--weights: expected f16 or f32, got ${values.weights}`);
  let predict: Predictor;
  let close: () => Promise<void>;
  if (values.engine === 'runtime') {
    const model = await loadModel(values.model!, { weightDtype: values.weights });
    predict = runtimePredictor(model);
    close = () => model.close();
  } else if (values.engine === 'train') {
    const session = await sessionFromCheckpoint(values.model!);
    predict = trainPredictor(session);
    close = async () => session.gpu.destroy();
  } else throw new Error(`--engine: expected runtime or train, got ${values.engine}`);
  const t0 = Date.now();
  try {
    const cells = await iclCurve(predict, {
      n,
      seed,
      shots,
      families,
      onCell: (c) => console.error(`${c.family} ${c.shots}-shot: ${(100 * c.accuracy.p).toFixed(1)}% (${c.accuracy.k}/${c.accuracy.n})`),
    });
    const table = formatIclTable(cells, CHANCE);
    const header = `ICL curve of ${values.model} (engine ${values.engine}${values.engine === 'runtime' ? `, ${values.weights} weights` : ''}, held-out seed ${seed}, ${n} queries per cell, ${((Date.now() - t0) / 1000).toFixed(0)} s)`;
    if (values.json) await writeFile(values.json, `${JSON.stringify({ model: values.model, engine: values.engine, seed, n, cells }, null, 2)}\n`);
    return `${header}\n\n${table}`;
  } finally {
    await close();
  }
}

const isMain = isMainModule(import.meta.url);
if (isMain) {
  exitOnBrokenPipe();
  runEval(process.argv.slice(2)).then(
    (out) => {
      console.log(out);
      process.exit(0);
    },
    (e: Error) => {
      console.error(e.stack ?? e.message);
      process.exit(1);
    },
  );
}
