// The id of a token a processor inserts into the prompt ('<image>', '<fake_token_around_image>',
// '<global-img>', '<row_1_col_1>'), checked to encode as exactly that one token.
import { TokenizerError } from './errors.js';
import type { TextTokenizer } from './tokenizer.js';

/** The ids of `text`, or null when the tokenizer cannot encode it (a WordLevel vocabulary without unk). */
function tryEncode(tok: TextTokenizer, text: string): number[] | null {
  try {
    return tok.encode(text, { addSpecialTokens: false });
  } catch (e) {
    if (e instanceof TokenizerError) return null;
    throw e;
  }
}

const pieces = (tok: TextTokenizer, ids: readonly number[]): string =>
  ids.map((id) => JSON.stringify(tok.idToToken(id) ?? `#${id}`)).join(', ');

/**
 * The id of `token`, which the caller will insert as text and expects back as one id each time, also when
 * repeated ('<image><image>', as processors expand image placeholders). Throws a TokenizerError naming
 * tokenizer.json, the token and `purpose` (what needs it, e.g. 'the Idefics3 processor for image
 * placeholders') when the vocabulary lacks it, or when its text encodes otherwise alone or in context
 * ('a<tok><tok>a', ' <tok> '), which is what an ordinary vocabulary entry does and an added token never.
 */
export function requireTokenId(tok: TextTokenizer, token: string, purpose: string): number {
  const why = purpose.replace(/^needed by\s+/i, '');
  const id = tok.tokenToId(token);
  const once = tryEncode(tok, token);
  if (id === undefined) {
    const as = once === null ? 'cannot be encoded' : `encodes as ${once.length} tokens [${pieces(tok, once)}]`;
    throw new TokenizerError(tok.source, `tokenizer.json has no token '${token}', needed by ${why}; the text '${token}' ${as}`);
  }
  // In context: an ordinary vocabulary entry merges with its neighbours (letters, a leading space), an added
  // token never; and repeated, as processors expand placeholders. A context the vocabulary cannot encode
  // (letters in a WordLevel vocabulary without unk) is skipped.
  const contexts = [
    { text: `a${token}${token}a`, times: 2 },
    { text: ` ${token} `, times: 1 },
    { text: token + token, times: 2 },
  ];
  let bad: { text: string; ids: readonly number[] } | null = once !== null && once.length === 1 && once[0] === id ? null : { text: token, ids: once ?? [] };
  for (const { text, times } of bad === null ? contexts : []) {
    const ids = tryEncode(tok, text);
    if (ids === null) continue;
    if (!ids.some((x, i) => x === id && (times === 1 || ids[i + 1] === id))) {
      bad = { text, ids };
      break;
    }
  }
  if (bad !== null) {
    throw new TokenizerError(
      tok.source,
      `tokenizer.json token '${token}' (id ${id}), needed by ${why}, does not encode as that one token: the text ` +
        `${JSON.stringify(bad.text)} gives [${pieces(tok, bad.ids)}]; it must be an added token of tokenizer.json`,
    );
  }
  return id;
}
