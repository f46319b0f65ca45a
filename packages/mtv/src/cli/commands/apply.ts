// `mtv apply`: answer one query with the MTV patched in (optionally next to the plain zero-shot answer).
import type { Command } from 'commander';
import { generateWith, taskVector } from '../../apply/apply.js';
import { isDatasetFormat, DATASET_FORMATS, type QaExample } from '../../datasets/types.js';
import { buildPrompt } from '../../prompts/formats.js';
import { CliError, collect, intArg, writeJson, writeLine, type CliIo } from '../io.js';
import { openArtifact } from '../load.js';
import { addCommon, addModel, type CommonFlags, type ModelFlags } from '../options.js';
import { withModel } from './build.js';
import path from 'node:path';

interface ApplyFlags extends ModelFlags, CommonFlags {
  artifact: string;
  question?: string;
  prompt?: string;
  image: string[];
  format: string;
  maxNewTokens: number;
  compare?: boolean;
}

export function registerApply(program: Command, io: CliIo): void {
  addCommon(addModel(program.command('apply').description('answer a query with the MTV patched in')))
    .requiredOption('-a, --artifact <file>', 'MTV artifact with heads')
    .option('--question <text>', 'the question (built into the zero-shot prompt of --format)')
    .option('--prompt <text>', 'a raw prompt instead of --question (one <image> per --image)')
    .option('--image <file>', 'an image (repeatable, in order)', collect, [])
    .option('-f, --format <format>', 'prompt format for --question: jsonl, vizwiz, okvqa', 'jsonl')
    .option('--max-new-tokens <n>', 'generation length', intArg(1), 10)
    .option('--compare', 'also print the plain zero-shot answer')
    .action(async (f: ApplyFlags) => {
      if ((f.question === undefined) === (f.prompt === undefined)) throw new CliError('give exactly one of --question or --prompt');
      if (!isDatasetFormat(f.format)) throw new CliError(`unknown format '${f.format}'; formats: ${DATASET_FORMATS.join(', ')}`);
      if (f.question !== undefined && !['jsonl', 'vizwiz', 'okvqa'].includes(f.format)) throw new CliError(`--question needs a question-answer format (jsonl, vizwiz, okvqa), got '${f.format}'`);
      const images = f.image.map((p) => path.resolve(p));
      let text: string;
      if (f.prompt !== undefined) text = f.prompt;
      else {
        const q: QaExample = { kind: 'qa', id: 'cli', images, question: f.question!, answer: '' };
        text = buildPrompt(f.format, { shots: [], query: q, variant: 0 }).text;
      }
      await withModel(io, f, async (model) => {
        const vector = taskVector(await openArtifact(f.artifact, model), f.artifact);
        const prepared = await model.prepare({ text, images });
        const mtv = await generateWith(model, prepared, vector, { maxNewTokens: f.maxNewTokens });
        const plain = f.compare ? await generateWith(model, prepared, null, { maxNewTokens: f.maxNewTokens }) : null;
        if (f.json) return writeJson(io, { prompt: text, mtv, ...(plain ? { zeroShot: plain } : {}) });
        writeLine(io.stdout, `mtv: ${mtv.text}`);
        if (plain) writeLine(io.stdout, `zero-shot: ${plain.text}`);
      });
    });
}
