// Builds a WordLevel tokenizer.json + tokenizer_config.json: the tokenizer of tiny test and demo models.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { TokenizerError } from './errors.js';
import type { JsonObject } from './files.js';

export interface WordLevelSpec {
  /** Special tokens, given ids 0..n-1 in this order; stored as special added tokens (matched before splitting). */
  specialTokens: readonly string[];
  /** Ordinary words, ids n.. in this order. */
  words: readonly string[];
  /** Each must be one of specialTokens; null or absent leaves it unset. */
  bosToken?: string | null;
  eosToken?: string | null;
  padToken?: string | null;
  /** Also becomes the WordLevel model's unk_token. Without one, out-of-vocabulary words are errors. */
  unkToken?: string | null;
  /** Prepend bosToken on encode (a TemplateProcessing post-processor). Default false. */
  addBosToken?: boolean;
  chatTemplate?: string;
  /** Split on whitespace only ('WhitespaceSplit', default) or also apart punctuation ('Whitespace'). */
  preTokenizer?: 'WhitespaceSplit' | 'Whitespace';
  /** Write special tokens in tokenizer_config as AddedToken objects instead of strings (both occur on the Hub). */
  addedTokenObjects?: boolean;
}

export interface TokenizerJsonFiles {
  tokenizerJson: JsonObject;
  tokenizerConfig: JsonObject;
}

export function buildWordLevelTokenizer(spec: WordLevelSpec): TokenizerJsonFiles {
  const source = 'buildWordLevelTokenizer';
  const vocab: Record<string, number> = {};
  for (const t of [...spec.specialTokens, ...spec.words]) {
    if (t.length === 0 || /\s/.test(t)) throw new TokenizerError(source, `token ${JSON.stringify(t)} is empty or contains whitespace`);
    if (Object.hasOwn(vocab, t)) throw new TokenizerError(source, `token '${t}' appears twice`);
    vocab[t] = Object.keys(vocab).length;
  }
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

  const addedTokens = spec.specialTokens.map((content) => ({
    id: vocab[content], content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true,
  }));
  const postProcessor =
    spec.addBosToken && bos !== null
      ? {
          type: 'TemplateProcessing',
          single: [{ SpecialToken: { id: bos, type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }],
          pair: [{ SpecialToken: { id: bos, type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { Sequence: { id: 'B', type_id: 1 } }],
          special_tokens: { [bos]: { id: bos, ids: [vocab[bos]], tokens: [bos] } },
        }
      : null;
  const tokenizerJson: JsonObject = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: addedTokens,
    normalizer: null,
    pre_tokenizer: { type: spec.preTokenizer ?? 'WhitespaceSplit' },
    post_processor: postProcessor,
    decoder: null,
    model: { type: 'WordLevel', vocab, unk_token: unk ?? '' },
  };
  if (unk === null) delete (tokenizerJson.model as JsonObject).unk_token;

  const entry = (t: string | null): unknown =>
    t === null
      ? null
      : spec.addedTokenObjects
        ? { __type: 'AddedToken', content: t, lstrip: false, normalized: false, rstrip: false, single_word: false, special: true }
        : t;
  const tokenizerConfig: JsonObject = {
    tokenizer_class: 'PreTrainedTokenizerFast',
    add_bos_token: spec.addBosToken ?? false,
    add_eos_token: false,
    bos_token: entry(bos),
    eos_token: entry(eos),
    pad_token: entry(pad),
    unk_token: entry(unk),
    clean_up_tokenization_spaces: false,
    added_tokens_decoder: Object.fromEntries(addedTokens.map(({ id, ...rest }) => [String(id), rest])),
  };
  if (spec.chatTemplate !== undefined) tokenizerConfig.chat_template = spec.chatTemplate;
  return { tokenizerJson, tokenizerConfig };
}

/** Writes tokenizer.json and tokenizer_config.json of buildWordLevelTokenizer(spec) into `dir` (created if needed). */
export async function writeWordLevelTokenizer(dir: string, spec: WordLevelSpec): Promise<TokenizerJsonFiles> {
  const files = buildWordLevelTokenizer(spec);
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'tokenizer.json'), JSON.stringify(files.tokenizerJson, null, 2));
  await writeFile(join(dir, 'tokenizer_config.json'), JSON.stringify(files.tokenizerConfig, null, 2));
  return files;
}
