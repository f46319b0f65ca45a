// Issue 10 items 5-7: the REINFORCE target token is the first token of " " + answer (the reference's
// mtv_utils.py), tested on a byte-level BPE tokenizer where the spaced and unspaced tokens differ;
// generation_config.json's max_new_tokens and eos are read; the reference shot defaults per format.
import { describe, expect, it } from 'vitest';
import { TextTokenizer } from '@mtv/model';
import { buildPrompt, defaultShots, firstAnswerToken, shotsPerRound, type Example } from '@mtv/mtv';

/** A tiny byte-level BPE (GPT-2 / Qwen style) whose vocabulary has both "yes" and "Ġyes". */
function bpeTokenizer(generationConfig: Record<string, unknown> | null = null): TextTokenizer {
  const words = ['Answer', 'Question', 'yes', 'Ġyes', 'Ġno', 'no', 'Ġwhat', 'what', 'Ġcolour', 'colour', 'Ġis', 'is', 'Ġit', 'it'];
  const chars = new Set<string>(['Ġ', ':', '?', '<', '>', '/', '|']);
  for (const w of words) for (const c of w.replace(/^Ġ/, '')) chars.add(c);
  const vocab: Record<string, number> = { '<|endoftext|>': 0, '<image>': 1 };
  const add = (t: string): void => {
    if (!(t in vocab)) vocab[t] = Object.keys(vocab).length;
  };
  [...chars].forEach(add);
  const merges: string[] = [];
  // Unspaced words letter by letter first, then "Ġ" + the whole word (so "Ġyes" is one token).
  for (const w of [...words.filter((x) => !x.startsWith('Ġ')), ...words.filter((x) => x.startsWith('Ġ'))]) {
    const parts = w.startsWith('Ġ') ? ['Ġ', w.slice(1)] : [...w];
    let acc = parts[0]!;
    for (const p of parts.slice(1)) {
      const m = `${acc} ${p}`;
      if (!merges.includes(m)) merges.push(m);
      acc += p;
      add(acc);
    }
  }
  const tokenizerJson = {
    version: '1.0', truncation: null, padding: null,
    added_tokens: [
      { id: 0, content: '<|endoftext|>', single_word: false, lstrip: false, rstrip: false, normalized: false, special: true },
      { id: 1, content: '<image>', single_word: false, lstrip: false, rstrip: false, normalized: false, special: true },
    ],
    normalizer: null,
    pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
    post_processor: null,
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: { type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: null, end_of_word_suffix: null, fuse_unk: false, byte_fallback: false, vocab, merges },
  };
  return new TextTokenizer({ tokenizerJson, tokenizerConfig: { eos_token: '<|endoftext|>' }, generationConfig, source: 'bpe-test' });
}

describe('REINFORCE target token (issue 10 item 5)', () => {
  const tok = bpeTokenizer();
  const query: Example = { kind: 'qa', id: 'q1', images: ['/x.png'], question: 'what colour is it?', answer: 'yes', questionId: '1' } as Example;
  const okvqa = buildPrompt('okvqa', { shots: [], query, variant: 0 });

  it("OK-VQA's prompt has no space before the answer, so the joint encoding gives the unspaced token", () => {
    expect(okvqa.continuation.startsWith(' ')).toBe(false);
    const joint = firstAnswerToken({ tokenizer: tok }, okvqa, 'joint');
    expect(tok.decode([joint])).toBe('yes');
  });
  it('the default (the reference) is the first token of " " + answer: a different id, "Ġyes"', () => {
    const spaced = firstAnswerToken({ tokenizer: tok }, okvqa);
    expect(spaced).toBe(tok.encode(' yes', { addSpecialTokens: false })[0]);
    expect(spaced).not.toBe(firstAnswerToken({ tokenizer: tok }, okvqa, 'joint'));
    expect(tok.decode([spaced])).toBe(' yes');
  });
});

describe('generation_config.json (issue 10 item 7)', () => {
  it('max_new_tokens and eos_token_id are read; a bad value is refused', () => {
    const t = bpeTokenizer({ max_new_tokens: 3, eos_token_id: [1] });
    expect(t.generationMaxNewTokens).toBe(3);
    expect(t.eosTokenIds).toContain(1);
    expect(bpeTokenizer().generationMaxNewTokens).toBeNull();
    expect(() => bpeTokenizer({ max_new_tokens: 0 })).toThrow(/max_new_tokens 0 is not a positive integer/);
  });
});

describe('reference defaults (issue 10 items 6, 9)', () => {
  it('shots: VizWiz 16, 2-way 0, others 4; a 2-way round holds two labelled examples', () => {
    expect(defaultShots('vizwiz')).toBe(16);
    expect(defaultShots('okvqa')).toBe(4);
    expect(defaultShots('flower')).toBe(0);
    expect(defaultShots('jsonl')).toBe(4);
    expect(shotsPerRound('cub', 0)).toBe(2);
    expect(shotsPerRound('vizwiz', 16)).toBe(16);
  });
});
