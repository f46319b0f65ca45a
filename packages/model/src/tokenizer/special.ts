// Special tokens named in tokenizer_config.json. Each may be a plain string, an AddedToken object
// ({"__type": "AddedToken", "content": "<s>", ...}) or null.
import { TokenizerError } from './errors.js';
import { isObject, type JsonObject } from './files.js';

export const SPECIAL_TOKEN_KEYS = ['bos_token', 'eos_token', 'pad_token', 'unk_token'] as const;
export type SpecialTokenKey = (typeof SPECIAL_TOKEN_KEYS)[number];

export interface SpecialToken {
  token: string;
  id: number;
}

export interface SpecialTokens {
  bos: SpecialToken | null;
  eos: SpecialToken | null;
  pad: SpecialToken | null;
  unk: SpecialToken | null;
}

/** The token text of a tokenizer_config special-token entry, or null when absent. */
export function specialTokenContent(config: JsonObject, key: string, source: string): string | null {
  const v = config[key];
  if (v === undefined || v === null) return null;
  if (typeof v === 'string') return v;
  if (isObject(v) && typeof v.content === 'string') return v.content;
  throw new TokenizerError(source, `tokenizer_config.json '${key}' must be a string, an AddedToken object with 'content', or null; got ${JSON.stringify(v)}`);
}

/**
 * A copy of tokenizer_config with AddedToken objects flattened to their strings. @huggingface/tokenizers
 * looks special tokens up by value, so an object there would silently resolve to no id.
 */
export function flattenSpecialTokens(config: JsonObject, source: string): JsonObject {
  const out: JsonObject = { ...config };
  for (const key of SPECIAL_TOKEN_KEYS) {
    const content = specialTokenContent(config, key, source);
    if (content === null) delete out[key];
    else out[key] = content;
  }
  const extra = config.additional_special_tokens;
  if (Array.isArray(extra)) {
    out.additional_special_tokens = extra.map((t, i) => {
      if (typeof t === 'string') return t;
      if (isObject(t) && typeof t.content === 'string') return t.content;
      throw new TokenizerError(source, `tokenizer_config.json additional_special_tokens[${i}] is neither a string nor an AddedToken: ${JSON.stringify(t)}`);
    });
  }
  return out;
}
