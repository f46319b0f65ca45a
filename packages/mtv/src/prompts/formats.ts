// Prompt formats of the reference repo (Brandon3964/MultiModal-Task-Vector, MTV/preprocess.py),
// string for string, plus a generic format for any JSONL task. `<image>` marks where each image of
// `images` goes (in order); the model's prompt builder expands it.
import type { DatasetFormat, Example, QaExample, TwoWayExample } from '../datasets/types.js';
import { optionLetter } from '../metrics/match.js';

export const IMAGE_TOKEN = '<image>';

/** preprocess.py `vizwiz_prompt`, trailing spaces included. */
export const VIZWIZ_PREAMBLE =
  'First carefully understand the given examples. \n' +
  'Then use the given image and answer the question in the same way as the examples. \n' +
  'If the question can not be answered, respond unanswerable. ';

export const OPTION_INSTRUCTION = "Answer with the option's letter from the given choice directly.";

const TWO_WAY_SUBJECT = { flower: 'flower', cub: 'bird', dtd: 'texture' } as const;

export interface Prompt {
  /** The full prompt; ends right before the answer (the last prompt token is the tap/patch position). */
  readonly text: string;
  /** Absolute image paths, one per IMAGE_TOKEN, in order. */
  readonly images: readonly string[];
  /** Expected answer text (an option letter for multiple choice). */
  readonly answer: string;
  /**
   * The answer as the shots write it after "Answer:" (" B", " yes"; OK-VQA's reference format has no
   * space). Whether the first answer token carries the space is the tokenizer's business (the
   * reference's per-model `space` flag).
   */
  readonly continuation: string;
  /** All annotators' answers, when known (for VQA accuracy). */
  readonly answers?: readonly string[];
  /** Option labels in letter order, for option-letter scoring. */
  readonly options?: readonly string[];
  readonly questionId?: string;
  readonly exampleId: string;
}

export interface PromptInput {
  readonly shots: readonly Example[];
  readonly query: Example;
  /** Per-round u32 (RoundSample.variant): bit 0 picks the 2-way option order. */
  readonly variant: number;
}

export interface PromptOptions {
  /** Generic format only: text placed before the first shot. */
  readonly instruction?: string;
}

const asQa = (format: DatasetFormat, e: Example): QaExample => {
  if (e.kind !== 'qa') throw new Error(`buildPrompt: format '${format}' needs question-answer examples, got a ${e.kind} example (id ${e.id})`);
  return e;
};

/** vizwiz / okvqa: `<image>{question} Answer:` then the answer (" {a}" for VizWiz, "{a}" for OK-VQA). */
function vqaPrompt(format: 'vizwiz' | 'okvqa', { shots, query }: PromptInput): Prompt {
  const sep = format === 'vizwiz' ? ' ' : '';
  const q = asQa(format, query);
  let text = format === 'vizwiz' ? VIZWIZ_PREAMBLE : '';
  const images: string[] = [];
  for (const s of shots.map((e) => asQa(format, e))) {
    if (s.images.length !== 1) throw new Error(`buildPrompt(${format}): example ${s.id} has ${s.images.length} images, the format takes one`);
    text += `${IMAGE_TOKEN}${s.question} Answer:${sep}${s.answer}`;
    images.push(s.images[0]);
  }
  if (q.images.length !== 1) throw new Error(`buildPrompt(${format}): query ${q.id} has ${q.images.length} images, the format takes one`);
  text += `${IMAGE_TOKEN}${q.question} Answer:`;
  images.push(q.images[0]);
  return {
    text, images, answer: q.answer, continuation: sep + q.answer,
    ...(q.answers ? { answers: q.answers } : {}),
    ...(q.questionId !== undefined ? { questionId: q.questionId } : {}),
    exampleId: q.id,
  };
}

/** flower / cub / dtd (format_flower etc.): both class examples, then the query; option order from variant bit 0. */
function twoWayPrompt(format: 'flower' | 'cub' | 'dtd', { shots, query, variant }: PromptInput): Prompt {
  if (shots.length > 0) {
    throw new Error(`buildPrompt(${format}): a 2-way item carries its own two examples (pos and neg); sample it with shots: 0 (got ${shots.length} shots)`);
  }
  if (query.kind !== 'two-way') throw new Error(`buildPrompt: format '${format}' needs 2-way examples, got a ${query.kind} example (id ${query.id})`);
  const e: TwoWayExample = query;
  const [pos, neg, q] = e.images;
  const line = (a: string, b: string): string =>
    `${IMAGE_TOKEN}What is the type of ${TWO_WAY_SUBJECT[format]} in the image? A.${a} B.${b}\n${OPTION_INSTRUCTION} Answer:`;
  if ((variant & 1) === 0) {
    const l = line(e.posLabel, e.negLabel);
    return { text: `${l} A\n${l} B\n${l}`, images: [pos, neg, q], answer: 'A', continuation: ' A', options: [e.posLabel, e.negLabel], exampleId: e.id };
  }
  const l = line(e.negLabel, e.posLabel);
  return { text: `${l} A\n${l} B\n${l}`, images: [neg, pos, q], answer: 'B', continuation: ' B', options: [e.negLabel, e.posLabel], exampleId: e.id };
}

const optionsText = (options: readonly string[]): string => options.map((o, i) => `${optionLetter(i)}.${o}`).join(' ');

const letterAnswer = (e: QaExample): string => {
  if (!e.options) return e.answer;
  const i = e.options.indexOf(e.answer);
  return i >= 0 ? optionLetter(i) : e.answer; // the loader checked it is a letter otherwise
};

/**
 * Generic JSONL: optional instruction, then per example `<image>...<image>{question} Answer: {answer}\n`;
 * with options, in the 2-way style: `{question} A.{o1} B.{o2}\n{OPTION_INSTRUCTION} Answer: {letter}`.
 */
function genericPrompt({ shots, query }: PromptInput, opts: PromptOptions): Prompt {
  const one = (e: QaExample): string =>
    IMAGE_TOKEN.repeat(e.images.length) + e.question + (e.options ? ` ${optionsText(e.options)}\n${OPTION_INSTRUCTION}` : '') + ' Answer:';
  const q = asQa('jsonl', query);
  let text = opts.instruction ?? '';
  const images: string[] = [];
  for (const s of shots.map((e) => asQa('jsonl', e))) {
    text += `${one(s)} ${letterAnswer(s)}\n`;
    images.push(...s.images);
  }
  text += one(q);
  images.push(...q.images);
  const answer = letterAnswer(q);
  return {
    text, images, answer, continuation: ' ' + answer,
    ...(q.answers ? { answers: q.answers } : {}),
    ...(q.options ? { options: q.options } : {}),
    ...(q.questionId !== undefined ? { questionId: q.questionId } : {}),
    exampleId: q.id,
  };
}

export function buildPrompt(format: DatasetFormat, input: PromptInput, opts: PromptOptions = {}): Prompt {
  let p: Prompt;
  switch (format) {
    case 'vizwiz':
    case 'okvqa':
      p = vqaPrompt(format, input);
      break;
    case 'flower':
    case 'cub':
    case 'dtd':
      p = twoWayPrompt(format, input);
      break;
    case 'jsonl':
      p = genericPrompt(input, opts);
      break;
    default:
      throw new Error(`buildPrompt: unknown format ${JSON.stringify(format)}`);
  }
  const marks = p.text.split(IMAGE_TOKEN).length - 1;
  if (marks !== p.images.length) throw new Error(`buildPrompt(${format}): ${marks} ${IMAGE_TOKEN} marks but ${p.images.length} images (a question text contains '${IMAGE_TOKEN}'?)`);
  return p;
}
