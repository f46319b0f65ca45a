// VQA accuracy exactly as the official evaluation (GT-Vision-Lab/VQA,
// PythonEvaluationTools/vqaEvaluation/vqaEval.py), quirks included:
//  - periodStrip is `(?!<=\d)(\.)(?!\d)`: the `(?!<=` is a lookahead typo, so it removes every '.'
//    not followed by a digit; and `sub('', text, re.UNICODE)` passes re.UNICODE (= 32) as `count`,
//    so at most the first 32 such periods are removed.
//  - punctuation is removed (not spaced) when it touches a space or when the text has a digit,digit.
//  - answers are normalised only when the 10 annotators disagree (len(set(answers)) > 1).
//  - "the other 9" are the answer records that differ from this one as whole records (Python dict
//    !=), so identical records (same answer and confidence, no answer_id) are left out together.
import { VQA_CONTRACTIONS } from './contractions.js';

const CONTRACTIONS = new Map(Object.entries(VQA_CONTRACTIONS));
const MANUAL_MAP = new Map([
  ['none', '0'], ['zero', '0'], ['one', '1'], ['two', '2'], ['three', '3'], ['four', '4'],
  ['five', '5'], ['six', '6'], ['seven', '7'], ['eight', '8'], ['nine', '9'], ['ten', '10'],
]);
const ARTICLES = new Set(['a', 'an', 'the']);
const PUNCT = [';', '/', '[', ']', '"', '{', '}', '(', ')', '=', '+', '\\', '_', '-', '>', '<', '@', '`', ',', '?', '!'];
const COMMA_STRIP = /(\d)(,)(\d)/;
const PERIOD_STRIP = /(?!<=\d)(\.)(?!\d)/g;
/** re.UNICODE passed as sub()'s count argument in the official code. */
const PERIOD_STRIP_COUNT = 32;
// Python's str.split()/strip() whitespace (str.isspace): JS \s minus U+FEFF, plus U+001C..U+001F and U+0085.
const PY_WS = '\\t\\n\\v\\f\\r \\x1c-\\x1f\\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000';
const PY_SPLIT = new RegExp(`[${PY_WS}]+`);
const PY_STRIP = new RegExp(`^[${PY_WS}]+|[${PY_WS}]+$`, 'g');

export const pyStrip = (s: string): string => s.replace(PY_STRIP, '');

export function processPunctuation(inText: string): string {
  let out = inText;
  const hasDigitComma = COMMA_STRIP.test(inText);
  for (const p of PUNCT) {
    // The test reads the *input* text, the replacement acts on the running output (as in the original).
    if (inText.includes(p + ' ') || inText.includes(' ' + p) || hasDigitComma) out = out.replaceAll(p, '');
    else out = out.replaceAll(p, ' ');
  }
  let n = 0;
  return out.replace(PERIOD_STRIP, (m) => (n++ < PERIOD_STRIP_COUNT ? '' : m));
}

export function processDigitArticle(inText: string): string {
  const words: string[] = [];
  for (const w of pyStrip(inText.toLowerCase()).split(PY_SPLIT)) {
    if (w === '') continue;
    const word = MANUAL_MAP.get(w) ?? w;
    if (!ARTICLES.has(word)) words.push(word);
  }
  return words.map((w) => CONTRACTIONS.get(w) ?? w).join(' ');
}

/** Both normalisation steps (what the official code applies to disagreeing answers). */
export const normalizeVqaAnswer = (s: string): string => processDigitArticle(processPunctuation(s));

/** The official whitespace clean-up applied to every answer before anything else. */
const cleanWhitespace = (s: string): string => pyStrip(s.replaceAll('\n', ' ').replaceAll('\t', ' '));

/** One annotator's answer as in the official annotation JSON. */
export interface AnswerRecord {
  readonly answer: string;
  readonly answer_confidence?: string;
  readonly answer_id?: number;
}

/**
 * 'official': GT-Vision-Lab vqaEval.py (the default).
 * 'lavis': the copy used by the MTV reference repo (eval_mm/vqa_eval.py, from LAVIS/Qwen-VL): the
 * prediction is always normalised (punctuation + digits/articles), ground truths only get
 * punctuation processing and only when they disagree. The paper's VizWiz/OK-VQA numbers came from it.
 */
export type VqaVariant = 'official' | 'lavis';

export interface VqaAccuracyOptions {
  readonly variant?: VqaVariant;
}

const sameRecord = (a: AnswerRecord, b: AnswerRecord): boolean =>
  a.answer === b.answer && a.answer_confidence === b.answer_confidence && a.answer_id === b.answer_id;

/**
 * Accuracy of one prediction against the annotators' answers, in [0, 1]: the mean over annotators
 * i of min(#{j among the others : answer_j == prediction} / 3, 1).
 * Plain strings get answer_id = index + 1 (unique, as in VQA v2), i.e. a true leave-one-out.
 */
export function vqaAccuracy(prediction: string, answers: readonly (string | AnswerRecord)[], opts: VqaAccuracyOptions = {}): number {
  if (answers.length === 0) throw new Error(`vqaAccuracy: no ground-truth answers for prediction ${JSON.stringify(prediction)}`);
  const variant = opts.variant ?? 'official';
  let gts: AnswerRecord[] = answers.map((a, i) => (typeof a === 'string' ? { answer: a, answer_id: i + 1 } : { ...a }));
  let res = cleanWhitespace(prediction);
  if (variant === 'official') {
    gts = gts.map((g) => ({ ...g, answer: cleanWhitespace(g.answer) }));
    if (new Set(gts.map((g) => g.answer)).size > 1) {
      gts = gts.map((g) => ({ ...g, answer: normalizeVqaAnswer(g.answer) }));
      res = normalizeVqaAnswer(res);
    }
  } else {
    res = normalizeVqaAnswer(res);
    if (new Set(gts.map((g) => g.answer)).size > 1) gts = gts.map((g) => ({ ...g, answer: processPunctuation(g.answer) }));
  }
  let total = 0;
  for (const g of gts) {
    let matches = 0;
    for (const o of gts) if (!sameRecord(o, g) && o.answer === res) matches++;
    total += Math.min(1, matches / 3);
  }
  return total / gts.length;
}
