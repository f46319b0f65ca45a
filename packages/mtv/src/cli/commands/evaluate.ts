// `mtv eval`: zero-shot / k-shot ICL / MTV / MTV + k-shot on a dataset, shot-scaling sweeps (MTV and
// ICL, with a plot: eval-sweeps.ts), or a cross-task grid; per-example JSONL and a summary with n and 95% intervals.
import { createWriteStream } from 'node:fs';
import { atomicTarget, checkNotAmong, checkOutputs } from '../../io/output-path.js';
import path from 'node:path';
import type { Command } from 'commander';
import { taskVector } from '../../apply/apply.js';
import { canonicalEvalMode, evaluate, formatSummaryTable, EVAL_MODES, type EvalMode, type EvalRecord } from '../../evaluate/harness.js';
import { crossTask } from '../../evaluate/sweep.js';
import {
  ANSWER_CLEANUPS, OPTION_RULES, VQA_SCORERS, describeScoring, parseAnswerCleanup, parseOptionRule, parseVqaScorer, resolveScoreOptions,
} from '../../evaluate/score.js';
import { checkAnnotationCoverage } from '../../datasets/annotations.js';
import { CliError, intArg, intListArg, listArg, progressBar, seedArg, writeJson, writeLine, type CliIo } from '../io.js';
import { runEvalSweeps } from './eval-sweeps.js';

/** A comma-separated list of integers >= 0 (--icl-sweep: 0 is zero-shot). */
const zeroIntListArg = (v: string): number[] => listArg(v).map(intArg(0));
import { openAnnotations, openArtifact, openDataset } from '../load.js';
import { addCommon, addData, addModel, shotsFor, type CommonFlags, type DataFlags, type ModelFlags } from '../options.js';
import { withModel } from './build.js';

interface EvalFlags extends ModelFlags, DataFlags, CommonFlags {
  artifact?: string;
  modes?: string[];
  shots?: number;
  n?: number;
  seed: number | string;
  trainData?: string;
  annotations?: string;
  predictions?: string;
  maxNewTokens?: number;
  minNewTokens: number;
  vqaScorer?: string;
  twoWayRule: string;
  answerCleanup: string;
  instruction?: string;
  sweep?: number[];
  iclSweep?: number[];
  plot?: string;
  shardSize: number;
  crossArtifacts?: string[];
  crossData?: string[];
  crossFormats?: string[];
}

export function registerEval(program: Command, io: CliIo): void {
  addCommon(addData(addModel(program.command('eval').description('evaluate zero-shot, ICL, MTV and MTV + ICL; --sweep for shot scaling, --cross-* for cross-task'))))
    .option('-a, --artifact <file>', 'MTV artifact with heads (needed by the mtv modes and --sweep)')
    .option('--modes <list>', `comma-separated: ${EVAL_MODES.join(', ')} (default: all with --artifact, else zero-shot,icl)`, listArg)
    .option('--shots <k>', 'ICL shots (default as the reference: 16 for vizwiz, 0 for the 2-way formats, else 4)', intArg(0))
    .option('-n, --n <count>', 'evaluate the first n examples', intArg(1))
    .option('--seed <seed>', 'seed of the per-query shots and option order', seedArg, 0)
    .option('--train-data <file>', 'ICL shots (and --sweep activations) come from here (same format; default: --data)')
    .option('--annotations <file>', 'official VQA annotation JSON (VizWiz/OK-VQA scoring)')
    .option('--predictions <file>', 'write per-example records as JSONL')
    .option('--max-new-tokens <n>', "generation length (default: the model's generation_config.json max_new_tokens, else 20 as the reference)", intArg(1))
    .option('--min-new-tokens <n>', 'end tokens are refused before this many new tokens (the reference: 1)', intArg(0), 1)
    .option('--vqa-scorer <name>', `VQA scorer: ${VQA_SCORERS.join(', ')} (default: lavis for vizwiz/okvqa, as the reference; official otherwise)`)
    .option('--two-way-rule <name>', `option scoring: ${OPTION_RULES.join(', ')} (reference: first span equals the letter)`, 'reference')
    .option('--answer-cleanup <name>', `answer span: ${ANSWER_CLEANUPS.join(', ')} (reference: split('.')[0].split('\\n')[0])`, 'reference')
    .option('--instruction <text>', 'jsonl format: text before the first shot')
    .option('--sweep <shots-list>', 'shot scaling: MTV accuracy at these numbers of shots compressed (e.g. 16,64,256,1024,4096); rounds = ceil(x / shots)', intListArg)
    .option('--icl-sweep <shots-list>', 'ICL curve: accuracy with these numbers of shots in context (0 = zero-shot, e.g. 0,1,2,4,8,16,32,62), shots from --train-data; counts whose prompts exceed the context are skipped with a note', zeroIntListArg)
    .option('--plot <file.png>', 'with --sweep and/or --icl-sweep: a PNG of both curves against shots (log axis), 95% intervals, zero-shot and the context limit as reference lines')
    .option('--shard-size <n>', 'rounds per shard for --sweep', intArg(1), 10)
    .option('--cross-artifacts <list>', 'cross-task: comma-separated artifacts, task i = artifact i + dataset i', listArg)
    .option('--cross-data <list>', 'cross-task: comma-separated datasets', listArg)
    .option('--cross-formats <list>', 'cross-task: the format of each --cross-data file (default: --format for all), e.g. vizwiz,okvqa', listArg)
    .action(async (f: EvalFlags) => {
      if (f.plot && !f.sweep && !f.iclSweep) throw new CliError('--plot needs --sweep and/or --icl-sweep (it draws their curves)');
      await checkOutputs([{ flag: '--predictions', path: f.predictions }, { flag: '--plot', path: f.plot }], [
        { flag: '--model', path: f.model, dir: true }, { flag: '--data', path: f.data }, { flag: '--root', path: f.root, dir: true },
        { flag: '--train-data', path: f.trainData }, { flag: '--annotations', path: f.annotations }, { flag: '-a', path: f.artifact },
        ...(f.crossArtifacts ?? []).map((p) => ({ flag: '--cross-artifacts', path: p })), ...(f.crossData ?? []).map((p) => ({ flag: '--cross-data', path: p })),
      ]);
      const data = await openDataset(f);
      const train = f.trainData ? await openDataset(f, f.trainData) : data;
      checkNotAmong([{ flag: '--predictions', path: f.predictions }, { flag: '--plot', path: f.plot }], 'an image of the data', [data, train].flatMap((d) => d.examples.flatMap((e) => [...e.images])));
      const annotations = await openAnnotations(f.annotations);
      const shots = shotsFor(data, f.shots);
      const modes: EvalMode[] = (f.modes ?? (f.artifact ? [...EVAL_MODES] : ['zero-shot', 'icl'])).map((m) => {
        const c = canonicalEvalMode(m);
        if (!c) throw new CliError(`unknown mode '${m}'; modes: ${EVAL_MODES.join(', ')} (mtv-icl is accepted for mtv+icl)`);
        return c;
      });
      const prompt = f.instruction ? { prompt: { instruction: f.instruction } } : {};
      // What the user asked; each dataset fills in the rest for its own format (cross-task may mix formats).
      const asked = {
        ...(f.vqaScorer !== undefined ? { vqaScorer: cliPick(parseVqaScorer, f.vqaScorer) } : {}),
        optionRule: cliPick(parseOptionRule, f.twoWayRule), answerCleanup: cliPick(parseAnswerCleanup, f.answerCleanup),
      };
      const scoring = resolveScoreOptions(data.format, asked);
      if (annotations) checkAnnotationCoverage(data, annotations, f.annotations!, f.n);
      const common = {
        seed: f.seed, shots, ...(f.maxNewTokens !== undefined ? { maxNewTokens: f.maxNewTokens } : {}), minNewTokens: f.minNewTokens, scoring: asked,
        ...(f.n ? { n: f.n } : {}), ...(annotations ? { annotations } : {}), ...prompt,
      };
      await withModel(io, f, async (model) => {
        if (f.crossArtifacts || f.crossData) {
          const arts = f.crossArtifacts ?? [];
          const files = f.crossData ?? [];
          if (arts.length === 0 || arts.length !== files.length) throw new CliError(`--cross-artifacts and --cross-data must list the same number of files (got ${arts.length} and ${files.length})`);
          const formats = f.crossFormats ?? files.map(() => f.format);
          if (formats.length !== files.length) throw new CliError(`--cross-formats must list one format per --cross-data file (got ${formats.length} and ${files.length})`);
          const tasks = [];
          for (let i = 0; i < arts.length; i++) {
            tasks.push({ name: path.basename(files[i]!).replace(/\.[^.]+$/, ''), vector: taskVector(await openArtifact(arts[i]!, model), arts[i]), data: await openDataset({ ...f, format: formats[i]! }, files[i]) });
          }
          const scorings = [...new Set(tasks.map((t) => t.data.format))].map((fmt) => ({ format: fmt, ...resolveScoreOptions(fmt, asked) }));
          const bar = progressBar(io, 'cross-task', tasks.length * (tasks.length + 1), f.quiet ?? false);
          let k = 0;
          const cells = await crossTask(model, tasks, common, () => bar.update(++k));
          bar.stop();
          if (f.json) return writeJson(io, { scoring: scorings, cross: cells });
          writeLine(io.stdout, formatSummaryTable(cells.map((c) => ({ ...c.summary, label: `${c.from ?? 'zero-shot'} -> ${c.to}` }))));
          for (const sc of scorings) writeLine(io.stdout, `${sc.format}: ${describeScoring(sc)}`);
          return;
        }
        if (!f.artifact && modes.some((m) => m.startsWith('mtv'))) throw new CliError(`modes ${modes.filter((m) => m.startsWith('mtv')).join(', ')} need --artifact`);
        const art = f.artifact ? await openArtifact(f.artifact, model) : null;
        if (f.sweep || f.iclSweep) {
          if (f.sweep && !art) throw new CliError('--sweep needs --artifact (its heads are held fixed while the means grow)');
          return runEvalSweeps(io, f, { model, data, train, art, shots, common, ...prompt, scoring });
        }
        // --predictions is written to a temp file beside it and renamed into place once complete.
        const target = f.predictions ? await atomicTarget(f.predictions) : null;
        const out = target ? createWriteStream(target.tmp, { flags: 'wx' }) : null;
        const bar = progressBar(io, 'eval', 1, f.quiet ?? false);
        let failed: Error | undefined;
        try {
          const report = await evaluate(model, data, {
            ...common, modes, ...(f.trainData ? { train } : {}), ...(art ? { vector: taskVector(art, f.artifact) } : {}),
            onRecord: (r: EvalRecord) => { out?.write(`${JSON.stringify(r)}\n`); },
            onProgress: (d, t) => bar.update(d, t),
          });
          bar.stop();
          if (f.json) return writeJson(io, { scoring: report.scoring, summaries: report.summaries, predictions: f.predictions ?? null });
          writeLine(io.stdout, formatSummaryTable(report.summaries));
          writeLine(io.stdout, describeScoring(report.scoring));
        } catch (e) {
          failed = e as Error;
          throw e;
        } finally {
          bar.stop();
          if (out) await new Promise<void>((resolve, reject) => out.end((e?: Error | null) => (e ? reject(e) : resolve())));
          if (target) await (failed ? target.abort() : target.commit());
        }
      });
    });
}

/** A parse error from a scorer name as a CLI error (it lists the known names). */
function cliPick<T>(parse: (s: string) => T, s: string): T {
  try {
    return parse(s);
  } catch (e) {
    throw new CliError((e as Error).message);
  }
}
