// ICL prompt text, one layout for training, evaluation and MTV. It follows the reference repo's
// MTV/preprocess.py per family, with two changes forced by the word-level tokenizer: every token
// is separated by whitespace ("<image> what ..." and "A. dax" rather than "<image>What" and
// "A.dax"), and examples are separated by a newline (the reference's VizWiz layout glues an
// answer to the next "<image>").
import type { ToyImage } from './image.js';
import { TWO_WAY_QUESTION } from './families/two-way.js';
import type { Episode, Example, FamilyName } from './types.js';

/** The reference's VizWiz instruction preamble, lowercased and tokenised. */
export const VQA_PREAMBLE = 'first carefully understand the given examples . then use the given image and answer the question in the same way as the examples . if the question can not be answered , respond unanswerable .';
/** The reference's per-example line of the Flowers/CUB/DTD prompt. */
export const TWO_WAY_INSTRUCTION = "answer with the option's letter from the given choice directly .";
export const IMAGE_TOKEN = '<image>';
export const ANSWER_CUE = 'Answer:';

export interface FormatOptions {
  /** Put VQA_PREAMBLE first (default: true for vqa, as in the reference; false otherwise). */
  preamble?: boolean;
  /** two-way: add TWO_WAY_INSTRUCTION to every example, as the reference does (default false, to keep 8-shot prompts short). */
  instruction?: boolean;
}

export interface FormattedPrompt {
  /** Shots with their answers, then the query, ending in "Answer:". */
  prompt: string;
  /** The query's expected answer (one vocabulary word). */
  answer: string;
  /** `prompt + ' ' + answer`: the training text. */
  text: string;
  /** One image per `<image>` placeholder, in order. */
  images: ToyImage[];
}

/** One example up to and including "Answer:". */
export function exampleStem(ex: Example, opts: FormatOptions = {}): string {
  if (ex.family === 'two-way') {
    if (!ex.options) throw new Error(`exampleStem: two-way example without options (question '${ex.question}')`);
    const instr = opts.instruction ? ` ${TWO_WAY_INSTRUCTION}` : '';
    return `${IMAGE_TOKEN} ${TWO_WAY_QUESTION} A. ${ex.options[0]} B. ${ex.options[1]}${instr} ${ANSWER_CUE}`;
  }
  return `${IMAGE_TOKEN} ${ex.question} ${ANSWER_CUE}`;
}

export function formatEpisode(episode: Episode, family: FamilyName = episode.family, opts: FormatOptions = {}): FormattedPrompt {
  if (family !== episode.family) throw new Error(`formatEpisode: episode (seed ${episode.seed}) is ${episode.family}, asked to format it as ${family}`);
  return formatShots(episode.shots, episode.query, family, opts);
}

/** A zero-shot prompt for one example (the MTV query format). */
export function formatExample(ex: Example, opts: FormatOptions = {}): FormattedPrompt {
  return formatShots([], ex, ex.family, opts);
}

/** The prompt for any list of solved shots followed by a query, all of one family. */
export function formatShots(shots: readonly Example[], query: Example, family: FamilyName, opts: FormatOptions = {}): FormattedPrompt {
  for (const ex of [...shots, query]) {
    if (ex.family !== family) throw new Error(`formatShots: a ${family} prompt holds a ${ex.family} example ('${ex.question}')`);
  }
  const lines: string[] = [];
  if (opts.preamble ?? family === 'vqa') lines.push(VQA_PREAMBLE);
  for (const s of shots) lines.push(`${exampleStem(s, opts)} ${s.answer}`);
  lines.push(exampleStem(query, opts));
  const prompt = lines.join('\n');
  return { prompt, answer: query.answer, text: `${prompt} ${query.answer}`, images: [...shots, query].map((e) => e.image) };
}
