// `mtv relabel`: pseudo-labels from many-shot ICL. Each of the first n examples of a JSON Lines
// dataset is answered by the model with k shots from the data in context (never the example itself),
// and written back with that answer as its label. For data whose labels are noisy (the demo's noisy
// task inference: a shot names the asked attribute only 30 % of the time), the model's 62-shot answer
// is right far more often than the shown label, so a head locator run on the relabelled file scores
// its rollouts against mostly-right answers (BENCHMARKS.md, "Many-shot"). Only the data is used: no
// clean labels.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Command } from 'commander';
import { evaluate } from '../../evaluate/harness.js';
import { answerSpan } from '../../evaluate/score.js';
import { checkNotAmong, checkOutputs, writeFileAtomic } from '../../io/output-path.js';
import { CliError, intArg, progressBar, seedArg, writeJson, writeLine, type CliIo } from '../io.js';
import { imagesOf, openDataset } from '../load.js';
import { addCommon, addData, addModel, type CommonFlags, type DataFlags, type ModelFlags } from '../options.js';
import { withModel } from './build.js';

interface RelabelFlags extends ModelFlags, DataFlags, CommonFlags {
  shots: number;
  n?: number;
  seed: number | string;
  maxNewTokens?: number;
  out: string;
}

export function registerRelabel(program: Command, io: CliIo): void {
  addCommon(addData(addModel(program.command('relabel').description("pseudo-labels: the first n examples re-answered by the model's k-shot ICL over the data (jsonl) -> jsonl"))))
    .requiredOption('--shots <k>', 'ICL shots in context per example, drawn from --data (never the example itself); e.g. the most that fit the context', intArg(1))
    .option('-n, --n <count>', 'relabel the first n examples (default: all)', intArg(1))
    .option('--seed <seed>', 'seed of the per-example shots', seedArg, 0)
    .option('--max-new-tokens <n>', "generation length (default: the model's generation_config.json max_new_tokens, else 20)", intArg(1))
    .requiredOption('-o, --out <file>', 'JSON Lines file to write, in the directory of --data (its image paths stay valid)')
    .action(async (f: RelabelFlags) => {
      if (f.format !== 'jsonl') throw new CliError(`relabel rewrites JSON Lines (-f jsonl) only, got '${f.format}'`);
      if (path.resolve(path.dirname(f.out)) !== path.resolve(path.dirname(f.data))) {
        throw new CliError(`-o ${f.out} must be in the directory of --data (${path.dirname(f.data)}): the items' image paths are relative to it`);
      }
      await checkOutputs([{ flag: '-o', path: f.out }], [{ flag: '--data', path: f.data }]);
      const data = await openDataset(f);
      checkNotAmong([{ flag: '-o', path: f.out }], 'an image of --data', imagesOf(data));
      const n = Math.min(f.n ?? data.examples.length, data.examples.length);
      const lines = (await readFile(f.data, 'utf8')).split('\n').filter((l) => l.trim() !== '');
      if (lines.length !== data.examples.length) throw new CliError(`relabel: ${f.data} has ${lines.length} records but ${data.examples.length} examples were loaded (--on-bad-image skip is not supported here)`);
      const records = lines.slice(0, n).map((l) => JSON.parse(l) as Record<string, unknown>);
      const withOptions = records.findIndex((r) => r.options !== undefined);
      if (withOptions >= 0) throw new CliError(`relabel: record ${withOptions + 1} has 'options'; only open answers can be relabelled`);
      const bar = progressBar(io, `relabel (${f.shots}-shot ICL)`, n, f.quiet ?? false);
      const answers: string[] = new Array(n).fill('');
      try {
        await withModel(io, f, async (model) => {
          await evaluate(model, data, {
            modes: ['icl'], shots: f.shots, seed: f.seed, n, ...(f.maxNewTokens ? { maxNewTokens: f.maxNewTokens } : {}),
            onRecord: (r) => void (answers[r.index] = answerSpan(r.prediction)),
            onProgress: (done) => bar.update(done),
          });
        });
      } finally {
        bar.stop();
      }
      const out: string[] = [];
      let kept = 0;
      let empty = 0;
      records.forEach((r, i) => {
        const a = answers[i]!;
        if (a === '') return void empty++;
        const ex = data.examples[i]!;
        if (ex.kind === 'qa' && a === ex.answer) kept++;
        const answersField = Array.isArray(r.answers) ? { answers: new Array(r.answers.length).fill(a) } : {};
        out.push(JSON.stringify({ ...r, answer: a, ...answersField }));
      });
      if (out.length === 0) throw new CliError(`relabel: every one of the ${n} answers was empty; nothing written`);
      await writeFileAtomic(f.out, `${out.join('\n')}\n`);
      const summary = { out: f.out, relabelled: out.length, skippedEmpty: empty, keptLabel: kept, shots: f.shots };
      if (f.json) return writeJson(io, summary);
      writeLine(io.stdout, `wrote ${f.out}: ${out.length} examples relabelled by ${f.shots}-shot ICL; ${kept} kept their label (${((100 * kept) / out.length).toFixed(1)} %)${empty ? `, ${empty} with an empty answer skipped` : ''}`);
    });
}
