// Exact match and option-letter scoring of generated text.
import { normalizeVqaAnswer, pyStrip } from './vqa.js';

/**
 * The reference repo's answer extraction (mtv_eval.py): the text before the first '.', then before
 * the first newline, stripped.
 */
export const firstAnswerSpan = (generation: string): string => pyStrip(generation.split('.')[0].split('\n')[0]);

/** The reference's exact match: first answer span, lower-cased, equal to the lower-cased target. */
export const exactMatch = (generation: string, target: string): boolean =>
  firstAnswerSpan(generation).toLowerCase() === target.toLowerCase();

/** Exact match after the VQA normalisation (punctuation, number words, articles, contractions) of both sides. */
export const normalizedExactMatch = (generation: string, target: string): boolean =>
  normalizeVqaAnswer(firstAnswerSpan(generation)) === normalizeVqaAnswer(target);

export const optionLetter = (i: number): string => {
  if (!Number.isInteger(i) || i < 0 || i >= 26) throw new Error(`optionLetter: option index ${i} outside A..Z`);
  return String.fromCharCode(65 + i);
};

/**
 * The option letter a generation picks, or null. `options` are the option labels in prompt order
 * (letters A, B, ... in that order). Tried in order:
 *  1. the whole (stripped) generation, or its first answer span, is a letter: "B", "B.", "(B)", "B)";
 *  2. it starts with a letter followed by '.', ')', ':' or a space: "B. tree poppy", "(A) rose";
 *  3. "answer is B" / "answer: B" / "option B" anywhere;
 *  4. the generation equals one label (VQA-normalised), or contains exactly one label.
 */
export function extractOptionLetter(generation: string, options: readonly string[]): string | null {
  const letters = options.map((_, i) => optionLetter(i));
  const valid = (l: string | undefined): string | null => (l !== undefined && letters.includes(l.toUpperCase()) ? l.toUpperCase() : null);
  const text = pyStrip(generation);
  const bare = /^\(?([A-Za-z])\)?\.?$/;
  for (const t of [text, firstAnswerSpan(generation)]) {
    const m = bare.exec(t);
    if (m && valid(m[1])) return valid(m[1]);
  }
  const lead = /^\(?([A-Z])(?:[.):]|\s)/.exec(text);
  if (lead && valid(lead[1])) return valid(lead[1]);
  const said = /\b(?:answer(?:\s+is)?|option)\s*[:]?\s*\(?([A-Z])\b/i.exec(text);
  if (said && valid(said[1])) return valid(said[1]);
  const norm = normalizeVqaAnswer(firstAnswerSpan(generation));
  const eq = options.findIndex((o) => normalizeVqaAnswer(o) === norm);
  if (eq >= 0) return letters[eq];
  const lower = text.toLowerCase();
  const contained = options.map((o, i) => (o.length > 0 && lower.includes(o.toLowerCase()) ? i : -1)).filter((i) => i >= 0);
  // A label that is a substring of another ("rose" in "desert rose") would be ambiguous; keep the longest only if it contains the others.
  if (contained.length === 1) return letters[contained[0]];
  if (contained.length > 1) {
    const longest = contained.reduce((a, b) => (options[b].length > options[a].length ? b : a));
    if (contained.every((i) => options[longest].toLowerCase().includes(options[i].toLowerCase()))) return letters[longest];
  }
  return null;
}

/** Option-letter accuracy: fraction of generations whose extracted letter equals the target letter. */
export function optionAccuracy(items: readonly { generation: string; options: readonly string[]; target: string }[]): { correct: number; n: number; accuracy: number } {
  if (items.length === 0) throw new Error('optionAccuracy: no items');
  let correct = 0;
  for (const it of items) if (extractOptionLetter(it.generation, it.options) === it.target.toUpperCase()) correct++;
  return { correct, n: items.length, accuracy: correct / items.length };
}
