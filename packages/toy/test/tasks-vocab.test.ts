import { describe, expect, it } from 'vitest';
import {
  SPECIAL_TOKENS, TASK_FAMILIES, TOY_TOKEN_IDS, TOY_VOCAB, formatEpisode, formatExample, outOfVocab, toyTokenIds, toyWordOfId, toyWords,
} from '../src/index.js';

describe('TOY_VOCAB', () => {
  it('has unique words, special tokens first', () => {
    expect(new Set(TOY_VOCAB).size).toBe(TOY_VOCAB.length);
    expect(TOY_VOCAB.slice(0, SPECIAL_TOKENS.length)).toEqual([...SPECIAL_TOKENS]);
    expect(TOY_TOKEN_IDS).toEqual({ pad: 0, unk: 1, bos: 2, eos: 3, image: 4 });
    expect(TOY_VOCAB.length).toBeLessThan(160);
  });

  it('covers every word of every prompt, question, answer, option and annotator answer', () => {
    for (const fam of Object.values(TASK_FAMILIES)) {
      for (let s = 0; s < 150; s++) {
        const ep = fam.episode(s, s % 9);
        for (const opts of [{}, { preamble: true, instruction: true }]) {
          const f = formatEpisode(ep, fam.name, opts);
          expect(outOfVocab(f.text), f.text).toEqual([]);
          expect(toyTokenIds(f.text).map(toyWordOfId).join(' ')).toBe(toyWords(f.text).join(' '));
        }
        for (const ex of [...ep.shots, ep.query]) {
          expect(outOfVocab([ex.question, ex.answer, ...ex.answers, ...(ex.options ?? [])].join(' '))).toEqual([]);
          // Every answer is one token, so the first answer token's cross-entropy scores it fully.
          expect(toyWords(ex.answer)).toHaveLength(1);
        }
      }
    }
  });

  it('rejects unknown words by name, or maps them to <unk>', () => {
    expect(() => toyTokenIds('<image> what colour is the zebra ?')).toThrow(/word 'zebra' is not in TOY_VOCAB/);
    expect(toyTokenIds('zebra', { unknown: 'unk' })).toEqual([TOY_TOKEN_IDS.unk]);
    expect(() => toyWordOfId(TOY_VOCAB.length)).toThrow(/outside TOY_VOCAB/);
  });
});

describe('formatEpisode', () => {
  it('puts one <image> per example, ends the prompt with "Answer:" and keeps 8-shot prompts short', () => {
    for (const fam of Object.values(TASK_FAMILIES)) {
      const ep = fam.episode(3, 8);
      const f = formatEpisode(ep);
      const words = toyWords(f.prompt);
      expect(words.filter((w) => w === '<image>')).toHaveLength(9);
      expect(f.images).toHaveLength(9);
      expect(f.images[8]).toBe(ep.query.image);
      expect(words.at(-1)).toBe('Answer:');
      expect(f.text).toBe(`${f.prompt} ${ep.query.answer}`);
      // <= 200 words for 8 shots + query, so with 4 tokens per image a sequence stays <= 230.
      expect(words.length).toBeLessThanOrEqual(200);
      ep.shots.forEach((s, i) => expect(f.prompt.split('\n')[i + (fam.name === 'vqa' ? 1 : 0)]!.endsWith(`Answer: ${s.answer}`)).toBe(true));
    }
  });

  it('follows the reference layouts', () => {
    const tw = TASK_FAMILIES['two-way'].episode(1, 2);
    const [a, b] = tw.query.options!;
    expect(formatExample(tw.query).prompt).toBe(`<image> what is the type of object in the image ? A. ${a} B. ${b} Answer:`);
    expect(formatExample(tw.query, { instruction: true }).prompt).toBe(
      `<image> what is the type of object in the image ? A. ${a} B. ${b} answer with the option's letter from the given choice directly . Answer:`,
    );
    const v = formatExample(TASK_FAMILIES.vqa.sample(2)).prompt.split('\n');
    expect(v[0]).toMatch(/^first carefully understand the given examples \. .* respond unanswerable \.$/);
    expect(v[1]).toMatch(/^<image> .+ \? Answer:$/);
    expect(formatExample(TASK_FAMILIES['task-inference'].sample(2)).prompt).toBe('<image> what ? Answer:');
    expect(() => formatEpisode(tw, 'vqa')).toThrow(/is two-way, asked to format it as vqa/);
  });
});
