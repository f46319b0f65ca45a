import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  TextTokenizer,
  TokenizerError,
  buildBpeTokenizer,
  buildWordLevelTokenizer,
  loadTokenizer,
  requireTokenId,
  writeBpeTokenizer,
  type BpeSpec,
} from '../src/tokenizer/index.js';
import { useTempDir } from './temp-dir.js';

// 中 and 文 are in the corpus, 字 and the emoji are not (metaspace encodes those through byte fallback).
const CORPUS = [
  "The cat sat on the mat. The dog sat on the log! What's that? It's a photo of a cat.\n",
  'User: describe the image.\nAssistant: A cat and a dog, sitting  together   on a mat.\n\n',
  'Numbers 12 and 345, café au lait, naïve résumé; 中文 text (mixed) -- done.\t',
];
const SMOLVLM_SPECIALS = ['<|endoftext|>', '<|im_start|>', '<|im_end|>', '<end_of_utterance>', '<fake_token_around_image>', '<global-img>', '<image>', '<row_1_col_1>'];
const IDEFICS2_SPECIALS = ['<unk>', '<s>', '</s>', '<fake_token_around_image>', '<image>', '<end_of_utterance>'];

const byteLevelSpec: BpeSpec = {
  style: 'byte-level', specialTokens: SMOLVLM_SPECIALS, corpus: CORPUS, numMerges: 120,
  bosToken: '<|im_start|>', eosToken: '<end_of_utterance>', padToken: '<|im_end|>', unkToken: '<|endoftext|>',
};
const metaspaceSpec: BpeSpec = {
  style: 'metaspace', specialTokens: IDEFICS2_SPECIALS, corpus: CORPUS, numMerges: 120,
  bosToken: '<s>', eosToken: '</s>', padToken: '<unk>', unkToken: '<unk>', addBosToken: true,
};
const SPECS = { 'byte-level': byteLevelSpec, metaspace: metaspaceSpec } as const;
const make = (spec: BpeSpec, over: Partial<BpeSpec> = {}): TextTokenizer => new TextTokenizer({ ...buildBpeTokenizer({ ...spec, ...over }), source: `test ${spec.style}` });

const ROUND_TRIP_TEXTS = [
  'The cat sat on the mat.',
  'Hello, world! (a) [b] {c} -- ok?; "quoted" \'single\' ~`@#$%^&*_+=|\\/<>',
  'line one\nline two\n\n\nafter blank lines\r\nwindows\ttab',
  'multi  space   runs    here ',
  '  leading and trailing  ',
  ' ',
  '\n',
  'café naïve résumé Ünïcödé',
  '中文 and 字 and 😀 and 👍🏽 and 🇺🇸',
  "It's what's 12345 numbers 3.14",
  '',
];

describe('buildBpeTokenizer: the shape of the published files', () => {
  it('byte-level is SmolLM2-shaped: Digits + ByteLevel, byte-level alphabet after the specials', () => {
    const { tokenizerJson: j, tokenizerConfig: c } = buildBpeTokenizer(byteLevelSpec);
    expect(j.normalizer).toBeNull();
    expect(j.pre_tokenizer).toEqual({
      type: 'Sequence',
      pretokenizers: [{ type: 'Digits', individual_digits: true }, { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true }],
    });
    expect(j.decoder).toEqual({ type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true });
    expect(j.post_processor).toEqual({ type: 'ByteLevel', add_prefix_space: true, trim_offsets: false, use_regex: true });
    const model = j.model as { type: string; vocab: Record<string, number>; merges: string[]; byte_fallback: boolean; unk_token: unknown };
    expect(model).toMatchObject({ type: 'BPE', byte_fallback: false, unk_token: null, fuse_unk: false, dropout: null });
    const n = SMOLVLM_SPECIALS.length;
    SMOLVLM_SPECIALS.forEach((t, i) => expect(model.vocab[t]).toBe(i));
    // GPT-2's order: '!' is the first symbol, 'Ġ' (space) is 220, 'Ċ' (newline) 198.
    expect([model.vocab['!'], model.vocab['Ġ'], model.vocab['Ċ'], model.vocab['ÿ']]).toEqual([n, n + 220, n + 198, n + 187]);
    expect(model.merges.length).toBeGreaterThan(100);
    expect(model.merges.length).toBeLessThanOrEqual(120);
    expect(Object.keys(model.vocab).length).toBeLessThanOrEqual(n + 256 + 120);
    expect(j.added_tokens).toContainEqual({ id: 6, content: '<image>', single_word: false, lstrip: false, rstrip: false, normalized: false, special: true });
    expect(c).toMatchObject({ tokenizer_class: 'GPT2Tokenizer', bos_token: '<|im_start|>', eos_token: '<end_of_utterance>', pad_token: '<|im_end|>', unk_token: '<|endoftext|>', clean_up_tokenization_spaces: false, model_max_length: 8192 });
    expect((c.added_tokens_decoder as Record<string, unknown>)['6']).toEqual({ content: '<image>', single_word: false, lstrip: false, rstrip: false, normalized: false, special: true });
    expect(c.additional_special_tokens).toEqual(['<fake_token_around_image>', '<global-img>', '<image>', '<row_1_col_1>']);
  });

  it('metaspace is Mistral-shaped: Prepend + Replace, byte fallback tokens, Llama decoder and bos template', () => {
    const { tokenizerJson: j, tokenizerConfig: c } = buildBpeTokenizer({ ...metaspaceSpec, chatTemplate: 'T', extraTokenizerConfig: { processor_class: 'Idefics2Processor' } });
    expect(j.normalizer).toEqual({ type: 'Sequence', normalizers: [{ type: 'Prepend', prepend: '▁' }, { type: 'Replace', pattern: { String: ' ' }, content: '▁' }] });
    expect(j.pre_tokenizer).toBeNull();
    expect(j.decoder).toEqual({
      type: 'Sequence',
      decoders: [{ type: 'Replace', pattern: { String: '▁' }, content: ' ' }, { type: 'ByteFallback' }, { type: 'Fuse' }, { type: 'Strip', content: ' ', start: 1, stop: 0 }],
    });
    expect(j.post_processor).toMatchObject({ type: 'TemplateProcessing', single: [{ SpecialToken: { id: '<s>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }], special_tokens: { '<s>': { id: '<s>', ids: [1], tokens: ['<s>'] } } });
    const model = j.model as { vocab: Record<string, number>; merges: string[] };
    expect(j.model).toMatchObject({ type: 'BPE', byte_fallback: true, fuse_unk: true, unk_token: '<unk>' });
    const n = IDEFICS2_SPECIALS.length;
    expect([model.vocab['<0x00>'], model.vocab['<0x0A>'], model.vocab['<0xFF>']]).toEqual([n, n + 10, n + 255]);
    // Characters of the corpus follow the byte tokens; newline and tab have none (byte fallback, as in Llama).
    expect(model.vocab['▁']).toBeGreaterThan(n + 255);
    expect(model.vocab['中']).toBeGreaterThan(n + 255);
    expect(model.vocab['\n']).toBeUndefined();
    expect(model.vocab['\t']).toBeUndefined();
    expect(c).toMatchObject({ tokenizer_class: 'LlamaTokenizer', add_bos_token: true, add_eos_token: false, legacy: true, bos_token: '<s>', chat_template: 'T', processor_class: 'Idefics2Processor' });
  });

  it('learns the most frequent pair first, ties to the smaller pair, deterministically', () => {
    const merges = (style: BpeSpec['style'], numMerges: number): unknown =>
      (buildBpeTokenizer({ style, specialTokens: ['<s>'], corpus: ['ab ab ab cd cd'], numMerges }).tokenizerJson.model as { merges: string[] }).merges;
    // metaspace words: ▁ab x3, ▁cd x2. (a,b) and (▁,a) tie at 3: 'a' < '▁'. Then (▁,c) and (c,d) tie at 2.
    expect(merges('metaspace', 10)).toEqual(['a b', '▁ ab', 'c d', '▁ cd']);
    // byte-level words: ab, Ġab x2, Ġcd x2 ('Ġ' is U+0120, after the letters).
    expect(merges('byte-level', 10)).toEqual(['a b', 'c d', 'Ġ ab', 'Ġ cd']);
    expect(merges('byte-level', 2)).toEqual(['a b', 'c d']);
    expect(JSON.stringify(buildBpeTokenizer(byteLevelSpec))).toBe(JSON.stringify(buildBpeTokenizer(byteLevelSpec)));
  });

  it('stops when no pair is left: every training word is then one token', () => {
    for (const style of ['byte-level', 'metaspace'] as const) {
      const tok = make({ style, specialTokens: ['<s>'], corpus: CORPUS, numMerges: 100_000 });
      for (const word of ['The', ' cat', ' together', ' naïve']) {
        const text = style === 'metaspace' ? word.trimStart() : word;
        expect(tok.encode(text, { addSpecialTokens: false }), `${style} ${JSON.stringify(text)}`).toHaveLength(1);
      }
    }
  });

  it('learns no merge across a special token of the corpus and none that would spell a special token', () => {
    const j = buildBpeTokenizer({ style: 'metaspace', specialTokens: ['<s>', 'ab'], corpus: ['xy<s>zw ab ab ab'], numMerges: 50 }).tokenizerJson;
    const { merges } = j.model as { merges: string[] };
    expect(merges).not.toContain('y <');
    expect(merges.some((m) => m.replace(' ', '') === 'ab')).toBe(false);
  });

  it('rejects bad specs with errors naming the token', () => {
    expect(() => buildBpeTokenizer({ ...byteLevelSpec, bosToken: '<bos>' })).toThrow(/bosToken '<bos>' is not one of specialTokens/);
    expect(() => buildBpeTokenizer({ ...byteLevelSpec, specialTokens: ['<a>', '<a>'], bosToken: null, eosToken: null, padToken: null, unkToken: null })).toThrow(/special token "<a>" is already in the vocabulary/);
    expect(() => buildBpeTokenizer({ ...byteLevelSpec, specialTokens: ['!'], bosToken: null, eosToken: null, padToken: null, unkToken: null })).toThrow(/base token "!" is already in the vocabulary \(id 0\)/);
    expect(() => buildBpeTokenizer({ ...metaspaceSpec, addBosToken: true, bosToken: null })).toThrow(TokenizerError);
    expect(() => buildBpeTokenizer({ ...metaspaceSpec, numMerges: -1 })).toThrow(/numMerges -1/);
  });
});

let dir: string;
useTempDir('mtv-bpe-', (d) => (dir = d));

describe.each(['byte-level', 'metaspace'] as const)('%s tokenizer through TextTokenizer', (style) => {
  const spec = SPECS[style];

  it('loads from disk through loadTokenizer, special tokens and chat template included', async () => {
    const d = join(dir, style);
    const tpl = "{% for m in messages %}{{ m['role'] + ': ' + m['content'] + eos_token }}{% endfor %}";
    await writeBpeTokenizer(d, { ...spec, chatTemplate: tpl });
    const tok = await loadTokenizer(d);
    expect(tok.source).toBe(d);
    expect(tok.specialTokens.bos?.token).toBe(spec.bosToken);
    expect(tok.specialTokens.eos).toEqual({ token: spec.eosToken, id: spec.specialTokens.indexOf(spec.eosToken!) });
    const text = tok.applyChatTemplate([{ role: 'User', content: 'a cat' }]);
    expect(text).toBe(`User: a cat${spec.eosToken}`);
    const ids = tok.encode(text, { addSpecialTokens: false });
    expect(ids[ids.length - 1]).toBe(tok.specialTokens.eos!.id);
    expect(tok.vocabSize).toBe(Math.max(...Object.values((buildBpeTokenizer(spec).tokenizerJson.model as { vocab: Record<string, number> }).vocab)) + 1);
  });

  it('round-trips ASCII, punctuation, newlines, space runs and Unicode', () => {
    const tok = make(spec);
    for (const text of ROUND_TRIP_TEXTS) {
      const ids = tok.encode(text, { addSpecialTokens: false });
      expect(tok.decode(ids), JSON.stringify(text)).toBe(text);
    }
    // The corpus's own words come back as few tokens: the merges are used.
    expect(tok.encode('The cat sat on the mat.', { addSpecialTokens: false }).length).toBeLessThan(10);
  });

  it('round-trips random text (property)', () => {
    const tok = make(spec);
    const pieces = ['a', 'b', 't', 'h', 'e', 'The', ' cat', ' ', '  ', '\n', '\t', '.', ',', '!', "'s", 'é', 'ï', '中', '字', '😀', '1', '23', 'Z', '"'];
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...pieces), { maxLength: 20 }), (parts) => {
        const text = parts.join('');
        expect(tok.decode(tok.encode(text, { addSpecialTokens: false }))).toBe(text);
      }),
      { numRuns: 200 },
    );
  });

  it('matches special tokens before splitting and never splits them', () => {
    const tok = make(spec);
    const id = (t: string): number => spec.specialTokens.indexOf(t);
    expect(tok.encode('<image><image>', { addSpecialTokens: false })).toEqual([id('<image>'), id('<image>')]);
    expect(tok.encode('<fake_token_around_image><image><image><fake_token_around_image>', { addSpecialTokens: false })).toEqual(
      ['<fake_token_around_image>', '<image>', '<image>', '<fake_token_around_image>'].map(id),
    );
    const ids = tok.encode('a cat<image>sat <end_of_utterance>\n', { addSpecialTokens: false });
    expect(ids.filter((i) => i === id('<image>'))).toHaveLength(1);
    expect(ids).toContain(id('<end_of_utterance>'));
    expect(tok.decode(ids, { skipSpecialTokens: true })).not.toContain('<');
  });

  it('adds bos only when configured and addSpecialTokens is on', () => {
    const bosId = spec.specialTokens.indexOf(spec.bosToken!);
    const withBos = make(spec, { addBosToken: true });
    const plain = withBos.encode('the cat', { addSpecialTokens: false });
    expect(plain).not.toContain(bosId);
    expect(withBos.encode('the cat')).toEqual([bosId, ...plain]);
    expect(make(spec, { addBosToken: false }).encode('the cat')).toEqual(plain);
    expect(withBos.decode(withBos.encode('the cat'), { skipSpecialTokens: true })).toBe('the cat');
  });

  it('agrees with an independent reference encoder on many strings', () => {
    for (const addBosToken of [false, true]) {
      const files = buildBpeTokenizer({ ...spec, addBosToken });
      const tok = new TextTokenizer({ ...files, source: 'oracle' });
      const ref = referenceEncoder({ ...spec, addBosToken }, files.tokenizerJson);
      const texts = [...ROUND_TRIP_TEXTS, ...CORPUS, 'a<image>b<image><image> c', '<|im_start|>User: hi<end_of_utterance>\nAssistant:', 'aaaa aaaaa thethe catcat'];
      for (const text of texts) expect(tok.encode(text), JSON.stringify(text)).toEqual(ref(text));
      const chars = ['a', 't', 'h', 'e', 'c', 's', 'o', 'n', ' ', '\n', '.', "'", 'é', '中', '字', '😀', '7', '<image>', 'T'];
      fc.assert(
        fc.property(fc.array(fc.constantFrom(...chars), { maxLength: 30 }), (parts) => {
          const text = parts.join('');
          expect(tok.encode(text)).toEqual(ref(text));
        }),
        { numRuns: 300 },
      );
    }
  });
});

describe('byte fallback (metaspace)', () => {
  it('encodes newline, tab and characters outside the vocabulary as <0xNN> tokens', () => {
    const tok = make(metaspaceSpec);
    const toks = (text: string): string[] => tok.encode(text, { addSpecialTokens: false }).map((i) => tok.idToToken(i)!);
    expect(toks('a\nb')).toEqual(['▁a', '<0x0A>', 'b']);
    expect(toks('😀')).toEqual(['▁', '<0xF0>', '<0x9F>', '<0x98>', '<0x80>']);
    expect(toks('字')).toEqual(['▁', '<0xE5>', '<0xAD>', '<0x97>']);
    expect(tok.decode(tok.encode('a\tb字😀'))).toBe('<s> a\tb字😀');
  });
});

describe('requireTokenId', () => {
  it('returns the id of an added token', () => {
    expect(requireTokenId(make(byteLevelSpec), '<row_1_col_1>', 'the Idefics3 processor for the image grid')).toBe(7);
    expect(requireTokenId(make(metaspaceSpec), '<image>', 'the Idefics2 processor for image placeholders')).toBe(4);
    const wordLevel = new TextTokenizer({ ...buildWordLevelTokenizer({ specialTokens: ['<image>'], words: ['cat'] }), source: 'wl' });
    expect(requireTokenId(wordLevel, '<image>', 'the LLaVA processor')).toBe(0);
  });

  it('names tokenizer.json, the token and the purpose when the token is missing', () => {
    const tok = make(metaspaceSpec);
    expect(() => requireTokenId(tok, '<global-img>', 'the Idefics3 processor for the global image')).toThrow(
      /^tokenizer test metaspace: tokenizer\.json has no token '<global-img>', needed by the Idefics3 processor for the global image; the text '<global-img>' encodes as \d+ tokens \["▁", "<0x3C>"/,
    );
    const wordLevel = new TextTokenizer({ ...buildWordLevelTokenizer({ specialTokens: ['<s>'], words: ['cat'] }), source: 'wl' });
    expect(() => requireTokenId(wordLevel, '<image>', 'needed by the LLaVA processor')).toThrow(/tokenizer wl: tokenizer\.json has no token '<image>', needed by the LLaVA processor; .* cannot be encoded/);
  });

  it('rejects a vocabulary entry whose text does not encode as that one token', () => {
    const tok = make(metaspaceSpec);
    // 'cat' is an ordinary merged token: the text 'cat' encodes as '▁cat' (or pieces), never as 'cat'.
    const vocab = (buildBpeTokenizer(metaspaceSpec).tokenizerJson.model as { vocab: Record<string, number> }).vocab;
    expect(vocab['▁cat']).toBeDefined();
    expect(() => requireTokenId(tok, '▁cat', 'the Idefics2 processor')).toThrow(/tokenizer\.json token '▁cat' \(id \d+\), needed by the Idefics2 processor, does not encode as that one token: the text "▁cat" gives \["▁", "▁cat"\]; it must be an added token of tokenizer\.json$/);
    // byte-level: merges 'a b', 'Ġ ab'. The text 'ab' encodes as 'ab' alone, and between letters, but as
    // 'Ġab' after a space: an ordinary entry, which a processor could not rely on.
    const bl = make({ style: 'byte-level', specialTokens: ['<|endoftext|>'], corpus: ['ab ab ab'], numMerges: 10 });
    expect(bl.encode('aababa')).toEqual([bl.tokenToId('a'), bl.tokenToId('ab'), bl.tokenToId('ab'), bl.tokenToId('a')]);
    expect(() => requireTokenId(bl, 'ab', 'a test')).toThrow(/token 'ab' \(id \d+\), needed by a test, .*the text " ab " gives \["Ġab", "Ġ"\]/);
  });
});

// ---------------------------------------------------------------------------------------------------
// An independent reference encoder, written from the BPE definition rather than from the library or the
// builder: added tokens split out leftmost-longest; byte-level = digits split off one by one, the GPT-2
// regex, bytes mapped to GPT-2's printable symbols; metaspace = '▁' prepended and spaces replaced;
// then merges applied one at a time, always the lowest-ranked adjacent pair, leftmost first; symbols
// outside the vocabulary become <0xNN> byte tokens; bos in front when the post-processor adds it.
// Digits are split with Unicode \p{N} as in the Rust library; the strings compared use ASCII digits only,
// since @huggingface/tokenizers' Digits matches \d.

function gpt2ByteSymbol(b: number): string {
  const printable = (x: number): boolean => (x >= 33 && x <= 126) || (x >= 161 && x <= 172) || (x >= 174 && x <= 255);
  if (printable(b)) return String.fromCharCode(b);
  let shift = 0;
  for (let x = 0; x < b; x++) if (!printable(x)) shift++;
  return String.fromCharCode(256 + shift);
}

function applyMerges(symbols: string[], ranks: Map<string, number>): string[] {
  const s = [...symbols];
  for (;;) {
    let best = -1;
    let bestRank = Infinity;
    for (let i = 0; i + 1 < s.length; i++) {
      const r = ranks.get(`${s[i]} ${s[i + 1]}`);
      if (r !== undefined && r < bestRank) [best, bestRank] = [i, r];
    }
    if (best < 0) return s;
    s.splice(best, 2, s[best] + s[best + 1]);
  }
}

function referenceEncoder(spec: BpeSpec, tokenizerJson: Record<string, unknown>): (text: string) => number[] {
  const model = tokenizerJson.model as { vocab: Record<string, number>; merges: string[] };
  const ranks = new Map(model.merges.map((m, i) => [m, i]));
  const specials = [...spec.specialTokens];
  const vocabId = (t: string): number => {
    const id = model.vocab[t];
    if (id === undefined) throw new Error(`reference: '${t}' not in vocab`);
    return id;
  };
  const encodeSegment = (seg: string): number[] => {
    if (spec.style === 'byte-level') {
      const out: number[] = [];
      for (const run of seg.match(/\p{N}|[^\p{N}]+/gu) ?? []) {
        for (const word of run.match(/'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu) ?? []) {
          const symbols = [...Buffer.from(word, 'utf8')].map(gpt2ByteSymbol);
          out.push(...applyMerges(symbols, ranks).map(vocabId));
        }
      }
      return out;
    }
    const normalized = '▁' + seg.split(' ').join('▁');
    return applyMerges([...normalized], ranks).flatMap((t) =>
      t in model.vocab ? [model.vocab[t]] : [...Buffer.from(t, 'utf8')].map((b) => vocabId(`<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`)),
    );
  };
  return (text) => {
    const out: number[] = spec.addBosToken ? [vocabId(spec.bosToken!)] : [];
    let start = 0;
    let i = 0;
    while (i < text.length) {
      const hit = specials.filter((s) => text.startsWith(s, i)).sort((a, b) => b.length - a.length)[0];
      if (hit === undefined) {
        i++;
        continue;
      }
      if (i > start) out.push(...encodeSegment(text.slice(start, i)));
      out.push(vocabId(hit));
      i += hit.length;
      start = i;
    }
    if (i > start) out.push(...encodeSegment(text.slice(start, i)));
    return out;
  };
}
