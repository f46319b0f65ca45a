// The fixed word-level vocabulary of the toy suite. Ids are positions in TOY_VOCAB; the special
// tokens come first so their ids never move when words are added at the end.
import { COLOURS, COUNTS, POSITIONS, SHAPES, SIZES } from './attributes.js';
import { NONSENSE_LABELS } from './families/two-way.js';
import { ABSENT_SHAPES, ANSWER_SYNONYMS, PLURALS, UNANSWERABLE } from './families/vqa.js';

export const SPECIAL_TOKENS = ['<pad>', '<unk>', '<s>', '</s>', '<image>'] as const;

/** Prompt scaffolding, question templates and the reference preamble/instruction words, listed by hand. */
const SCAFFOLDING = [
  'Answer:', 'A.', 'B.', 'A', 'B', '?', '.', ',',
  'what', 'is', 'the', 'type', 'of', 'object', 'in', 'image', 'colour', 'shape', 'size', 'how', 'many', 'are', 'there', 'a', 'where',
  'first', 'carefully', 'understand', 'given', 'examples', 'then', 'use', 'and', 'answer', 'question', 'same', 'way', 'as', 'if', 'can', 'not', 'be', 'answered', 'respond',
  'with', "option's", 'letter', 'from', 'choice', 'directly',
] as const;

const ANSWER_WORDS = [
  ...COLOURS, ...SHAPES, ...COUNTS, ...POSITIONS, ...SIZES, 'yes', 'no', UNANSWERABLE,
  ...Object.values(ANSWER_SYNONYMS), ...ABSENT_SHAPES, ...Object.values(PLURALS), ...NONSENSE_LABELS,
];

export const TOY_VOCAB: readonly string[] = Object.freeze([...new Set<string>([...SPECIAL_TOKENS, ...SCAFFOLDING, ...ANSWER_WORDS])]);

const INDEX: ReadonlyMap<string, number> = new Map(TOY_VOCAB.map((w, i) => [w, i]));

export const TOY_TOKEN_IDS = {
  pad: INDEX.get('<pad>')!,
  unk: INDEX.get('<unk>')!,
  bos: INDEX.get('<s>')!,
  eos: INDEX.get('</s>')!,
  image: INDEX.get('<image>')!,
} as const;

/** Whitespace tokenisation (spaces and newlines are both separators). */
export function toyWords(text: string): string[] {
  return text.split(/\s+/).filter((w) => w.length > 0);
}

/** The words of `text` that are not in TOY_VOCAB (empty when the text is in-vocabulary). */
export function outOfVocab(text: string): string[] {
  return toyWords(text).filter((w) => !INDEX.has(w));
}

/** Token ids of `text`; throws naming the first unknown word unless `unknown: 'unk'` maps it to <unk>. */
export function toyTokenIds(text: string, opts: { unknown?: 'throw' | 'unk' } = {}): number[] {
  return toyWords(text).map((w) => {
    const id = INDEX.get(w);
    if (id !== undefined) return id;
    if (opts.unknown === 'unk') return TOY_TOKEN_IDS.unk;
    throw new RangeError(`toyTokenIds: word '${w}' is not in TOY_VOCAB (${TOY_VOCAB.length} words) in text '${text.slice(0, 120)}'`);
  });
}

export function toyWordOfId(id: number): string {
  const w = TOY_VOCAB[id];
  if (w === undefined) throw new RangeError(`toyWordOfId: id ${id} outside TOY_VOCAB [0, ${TOY_VOCAB.length})`);
  return w;
}
