// Shared glue between the MTV pipeline and the model: dataset prompts -> prepared model prompts,
// the first answer token, and the checks every command makes before spending GPU time.
import type { VisionLanguageModel, PreparedPrompt } from '@mtv/model';
import type { Dataset, DatasetFormat, Example } from '../datasets/types.js';
import { buildPrompt, type Prompt, type PromptOptions } from '../prompts/formats.js';

/** What the pipeline needs of a dataset: a format and examples (a loaded Dataset fits). */
export interface TaskData {
  readonly format: DatasetFormat;
  readonly examples: readonly Example[];
  /** Named in errors; a Dataset's file. */
  readonly file?: string;
  readonly hash?: string;
}

export class PipelineError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PipelineError';
  }
}

const TWO_WAY = new Set<DatasetFormat>(['flower', 'cub', 'dtd']);
/** 2-way items carry their own two examples, so rounds sample them with 0 extra shots. */
export const isTwoWayFormat = (f: DatasetFormat): boolean => TWO_WAY.has(f);
/** Shots per round in the reference's scripts (MTV/eval_scripts/*.sh): VizWiz 16, 2-way 0 (each item holds its two examples), others 4. */
/** Labelled examples one extraction round holds: `shots`, or two for a 2-way item (its positive and negative). */
export const shotsPerRound = (f: DatasetFormat, shots: number): number => (TWO_WAY.has(f) ? shots + 2 : shots);
export const defaultShots = (f: DatasetFormat): number => (TWO_WAY.has(f) ? 0 : f === 'vizwiz' ? 16 : 4);

/** Refuses an empty dataset and one with fewer examples than `shots` + 1 query, naming the file. */
export function checkShots(data: TaskData, shots: number, what: string): void {
  const name = data.file ?? `${data.format} dataset`;
  if (data.examples.length === 0) throw new PipelineError(`${what}: ${name} has no examples`);
  if (!Number.isInteger(shots) || shots < 0) throw new PipelineError(`${what}: shots must be a non-negative integer, got ${shots}`);
  if (isTwoWayFormat(data.format) && shots !== 0) {
    throw new PipelineError(`${what}: format '${data.format}' items carry their own pos/neg examples; use shots 0 (got ${shots})`);
  }
  if (shots + 1 > data.examples.length) {
    throw new PipelineError(`${what}: ${shots} shots + 1 query need ${shots + 1} distinct examples, but ${name} has only ${data.examples.length}`);
  }
}

/** The zero-shot (MTV) prompt of one example. */
export const zeroShotPrompt = (format: DatasetFormat, query: Example, variant: number, opts: PromptOptions = {}): Prompt =>
  buildPrompt(format, { shots: [], query, variant }, opts);

export const prepare = (model: VisionLanguageModel, prompt: Prompt): Promise<PreparedPrompt> =>
  model.prepare({ text: prompt.text, images: prompt.images });

/**
 * REINFORCE target rule. 'spaced' (default, the reference's mtv_utils.py): the first non-special token
 * of `" " + answer` encoded alone (a token that decodes to whitespace only, such as SentencePiece's lone
 * '▁', is skipped). 'joint': the token that follows the prompt's tokens when prompt + continuation is
 * encoded together (how the prompt's own spacing merges), else the first token of the continuation.
 * The two differ on a BPE tokenizer where the continuation has no leading space (OK-VQA's "Answer:yes").
 */
export type TargetRule = 'spaced' | 'joint';

export function firstAnswerToken(model: Pick<VisionLanguageModel, 'tokenizer'>, prompt: Prompt, rule: TargetRule = 'spaced'): number {
  const tok = model.tokenizer;
  if (rule === 'spaced') {
    const ids = tok.encode(` ${prompt.answer.replace(/^\s+/, '')}`, { addSpecialTokens: false });
    const first = ids.find((id) => tok.decode([id]).trim() !== '') ?? ids[0];
    if (first === undefined) throw new PipelineError(`example ${prompt.exampleId}: answer ${JSON.stringify(prompt.answer)} encodes to no tokens`);
    return first;
  }
  const head = tok.encode(prompt.text);
  const full = tok.encode(prompt.text + prompt.continuation);
  if (full.length > head.length && head.every((id, i) => full[i] === id)) return full[head.length]!;
  const alone = tok.encode(prompt.continuation, { addSpecialTokens: false });
  if (alone.length === 0) throw new PipelineError(`example ${prompt.exampleId}: answer ${JSON.stringify(prompt.continuation)} encodes to no tokens`);
  return alone[0]!;
}
