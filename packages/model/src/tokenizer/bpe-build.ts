// Builds a real BPE tokenizer.json + tokenizer_config.json, shaped like the published files, with merges
// learned from a small corpus: the tokenizer of tiny test checkpoints for BPE model families.
//
// 'byte-level' is SmolLM2's (and so SmolVLM's / Idefics3's) tokenizer.json: pre_tokenizer
//   Sequence[Digits(individual_digits), ByteLevel(add_prefix_space false, trim_offsets, use_regex)],
//   post_processor and decoder ByteLevel, BPE without unk or byte fallback; the base vocabulary is the
//   256 byte-level symbols.
// 'metaspace' is Mistral-7B-v0.1's (and Idefics2's) legacy Llama conversion (transformers LlamaConverter,
//   legacy=True): normalizer Sequence[Prepend('▁'), Replace(' ', '▁')], no pre_tokenizer, BPE with
//   byte_fallback and <0x00>..<0xFF> tokens, decoder Sequence[Replace('▁',' '), ByteFallback, Fuse,
//   Strip(' ', 1, 0)], TemplateProcessing adding <s>.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { TokenizerJsonFiles } from './build.js';
import {
  BYTE_LEVEL_SYMBOLS,
  METASPACE,
  byteLevelWords,
  isByteFallbackOnly,
  learnMerges,
  metaspaceNormalize,
  metaspaceWords,
  splitOutSpecials,
} from './bpe-train.js';
import { TokenizerError } from './errors.js';
import type { JsonObject } from './files.js';

export interface BpeSpec {
  style: 'byte-level' | 'metaspace';
  /** Added tokens (special: true, matched before normalization and splitting), ids 0..n-1 in this order. */
  specialTokens: readonly string[];
  /** Text the merges are learned from (special tokens in it are cut out first). */
  corpus: readonly string[];
  /** Most merges to learn; fewer when the corpus runs out of pairs. */
  numMerges: number;
  /** Each must be one of specialTokens; null or absent leaves it unset. */
  bosToken?: string | null;
  eosToken?: string | null;
  padToken?: string | null;
  /** metaspace: also the BPE model's unk_token. byte-level: tokenizer_config only (the model needs none). */
  unkToken?: string | null;
  /** Prepend bosToken on encode (a TemplateProcessing post-processor). Default false. */
  addBosToken?: boolean;
  chatTemplate?: string;
  /** Merged last into tokenizer_config.json (e.g. processor_class, model_max_length). */
  extraTokenizerConfig?: Record<string, unknown>;
}

const byteToken = (b: number): string => `<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`;

/** Word counts of the corpus under the style's normalization and pre-tokenization. */
function corpusWords(spec: BpeSpec): Map<string, number> {
  const counts = new Map<string, number>();
  for (const text of spec.corpus) {
    for (const segment of splitOutSpecials(text, spec.specialTokens)) {
      const words = spec.style === 'byte-level' ? byteLevelWords(segment) : metaspaceWords(metaspaceNormalize(segment));
      for (const w of words) counts.set(w, (counts.get(w) ?? 0) + 1);
    }
  }
  return counts;
}

/** The metaspace base vocabulary: '▁' and every corpus character except those left to byte fallback. */
function metaspaceAlphabet(spec: BpeSpec): string[] {
  const chars = new Set<string>([METASPACE]);
  for (const text of spec.corpus) {
    for (const segment of splitOutSpecials(text, spec.specialTokens)) {
      for (const ch of metaspaceNormalize(segment)) if (!isByteFallbackOnly(ch)) chars.add(ch);
    }
  }
  return [...chars].sort((a, b) => a.codePointAt(0)! - b.codePointAt(0)!);
}

function templateProcessing(bos: string, bosId: number): JsonObject {
  return {
    type: 'TemplateProcessing',
    single: [{ SpecialToken: { id: bos, type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }],
    pair: [
      { SpecialToken: { id: bos, type_id: 0 } },
      { Sequence: { id: 'A', type_id: 0 } },
      { SpecialToken: { id: bos, type_id: 1 } },
      { Sequence: { id: 'B', type_id: 1 } },
    ],
    special_tokens: { [bos]: { id: bos, ids: [bosId], tokens: [bos] } },
  };
}

export function buildBpeTokenizer(spec: BpeSpec): TokenizerJsonFiles {
  const source = `buildBpeTokenizer(${spec.style})`;
  if (spec.style !== 'byte-level' && spec.style !== 'metaspace') throw new TokenizerError(source, `unknown style ${JSON.stringify(spec.style)}`);
  if (!Number.isInteger(spec.numMerges) || spec.numMerges < 0) throw new TokenizerError(source, `numMerges ${spec.numMerges} is not a non-negative integer`);

  const vocab: Record<string, number> = {};
  let size = 0;
  const add = (t: string, what: string): void => {
    if (Object.hasOwn(vocab, t)) throw new TokenizerError(source, `${what} ${JSON.stringify(t)} is already in the vocabulary (id ${vocab[t]})`);
    vocab[t] = size++;
  };
  for (const t of spec.specialTokens) {
    if (t.length === 0) throw new TokenizerError(source, 'a special token is empty');
    add(t, 'special token');
  }
  // GPT-2's vocabulary lists the byte-level symbols by code point ('!' first, 'Ġ' at 220).
  const byCodePoint = (a: string, b: string): number => a.codePointAt(0)! - b.codePointAt(0)!;
  const base = spec.style === 'byte-level' ? [...BYTE_LEVEL_SYMBOLS].sort(byCodePoint) : [...Array.from({ length: 256 }, (_, b) => byteToken(b)), ...metaspaceAlphabet(spec)];
  for (const t of base) add(t, 'base token');
  // Merged symbols may not collide with special or byte tokens (a BPE merge must name a new token).
  const reserved = new Set(Object.keys(vocab).filter((t) => spec.style === 'metaspace' || spec.specialTokens.includes(t)));
  const merges = learnMerges(corpusWords(spec), spec.numMerges, reserved);
  for (const [l, r] of merges) if (!Object.hasOwn(vocab, l + r)) vocab[l + r] = size++;

  const named = (key: string, t: string | null | undefined): string | null => {
    if (t === undefined || t === null) return null;
    if (!spec.specialTokens.includes(t)) throw new TokenizerError(source, `${key} '${t}' is not one of specialTokens`);
    return t;
  };
  const bos = named('bosToken', spec.bosToken);
  const eos = named('eosToken', spec.eosToken);
  const pad = named('padToken', spec.padToken);
  const unk = named('unkToken', spec.unkToken);
  if (spec.addBosToken && bos === null) throw new TokenizerError(source, 'addBosToken needs a bosToken');
  const addBos = spec.addBosToken === true && bos !== null;

  const addedTokens = spec.specialTokens.map((content) => ({
    id: vocab[content], content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true,
  }));
  const model = {
    type: 'BPE',
    dropout: null,
    unk_token: spec.style === 'metaspace' ? unk : null,
    continuing_subword_prefix: null,
    end_of_word_suffix: null,
    fuse_unk: spec.style === 'metaspace',
    byte_fallback: spec.style === 'metaspace',
    ignore_merges: false,
    vocab,
    merges: merges.map(([l, r]) => `${l} ${r}`),
  };
  const byteLevel = (addPrefixSpace: boolean, trimOffsets: boolean): JsonObject => ({
    type: 'ByteLevel', add_prefix_space: addPrefixSpace, trim_offsets: trimOffsets, use_regex: true,
  });
  const tokenizerJson: JsonObject =
    spec.style === 'byte-level'
      ? {
          version: '1.0', truncation: null, padding: null, added_tokens: addedTokens,
          normalizer: null,
          pre_tokenizer: { type: 'Sequence', pretokenizers: [{ type: 'Digits', individual_digits: true }, byteLevel(false, true)] },
          post_processor: addBos ? templateProcessing(bos, vocab[bos]) : byteLevel(true, false),
          decoder: byteLevel(true, true),
          model,
        }
      : {
          version: '1.0', truncation: null, padding: null, added_tokens: addedTokens,
          normalizer: {
            type: 'Sequence',
            normalizers: [{ type: 'Prepend', prepend: METASPACE }, { type: 'Replace', pattern: { String: ' ' }, content: METASPACE }],
          },
          pre_tokenizer: null,
          // LlamaTokenizerFast writes a TemplateProcessing either way; without bos it only passes $A / $B through.
          post_processor: addBos
            ? templateProcessing(bos, vocab[bos])
            : { type: 'TemplateProcessing', single: [{ Sequence: { id: 'A', type_id: 0 } }], pair: [{ Sequence: { id: 'A', type_id: 0 } }, { Sequence: { id: 'B', type_id: 1 } }], special_tokens: {} },
          decoder: {
            type: 'Sequence',
            decoders: [
              { type: 'Replace', pattern: { String: METASPACE }, content: ' ' },
              { type: 'ByteFallback' },
              { type: 'Fuse' },
              { type: 'Strip', content: ' ', start: 1, stop: 0 },
            ],
          },
          model,
        };

  const named4 = new Set([bos, eos, pad, unk]);
  const tokenizerConfig: JsonObject = {
    ...(spec.style === 'byte-level'
      ? { tokenizer_class: 'GPT2Tokenizer', add_prefix_space: false, ...(addBos ? { add_bos_token: true } : {}), model_max_length: 8192 }
      : { tokenizer_class: 'LlamaTokenizer', add_bos_token: addBos, add_eos_token: false, legacy: true, model_max_length: 32768, spaces_between_special_tokens: false }),
    bos_token: bos,
    eos_token: eos,
    pad_token: pad,
    unk_token: unk,
    clean_up_tokenization_spaces: false,
    additional_special_tokens: spec.specialTokens.filter((t) => !named4.has(t)),
    added_tokens_decoder: Object.fromEntries(addedTokens.map(({ id, ...rest }) => [String(id), rest])),
  };
  if (spec.chatTemplate !== undefined) tokenizerConfig.chat_template = spec.chatTemplate;
  Object.assign(tokenizerConfig, spec.extraTokenizerConfig ?? {});
  return { tokenizerJson, tokenizerConfig };
}

/** Writes tokenizer.json and tokenizer_config.json of buildBpeTokenizer(spec) into `dir` (created if needed). */
export async function writeBpeTokenizer(dir: string, spec: BpeSpec): Promise<TokenizerJsonFiles> {
  const files = buildBpeTokenizer(spec);
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'tokenizer.json'), JSON.stringify(files.tokenizerJson, null, 2));
  await writeFile(join(dir, 'tokenizer_config.json'), JSON.stringify(files.tokenizerConfig, null, 2));
  return files;
}
