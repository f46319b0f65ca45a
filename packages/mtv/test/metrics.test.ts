import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  bootstrapMeanInterval, exactMatch, extractOptionLetter, firstAnswerSpan, normalMeanInterval, normalizedExactMatch,
  optionAccuracy, parseVqaAnnotations, processDigitArticle, processPunctuation, scoreVqa, vqaAccuracy, wilsonInterval,
  type VqaVariant,
} from '@mtv/mtv';

interface Golden {
  norm: { in: string; punct: string; digit: string }[];
  acc: { variant: VqaVariant; pred: string; answers: string[]; ids: boolean; evalQA: number }[];
}
const golden = JSON.parse(readFileSync(new URL('./fixtures/vqa-golden.json', import.meta.url), 'utf8')) as Golden;

describe('VQA normalisation matches the official vqaEval.py', () => {
  it.each(golden.norm.map((g) => [g.in, g]))('%j', (_, g) => {
    expect(processPunctuation(g.in)).toBe(g.punct);
    expect(processDigitArticle(g.punct)).toBe(g.digit);
  });
});

describe('VQA accuracy matches the official evaluation (and the reference repo copy)', () => {
  it.each(golden.acc.map((g) => [`${g.variant} ${g.pred} vs ${g.answers.join('|')}${g.ids ? '' : ' (no ids)'}`, g]))('%s', (_, g) => {
    const records = g.answers.map((a, i) => ({ answer: a, answer_confidence: 'yes', ...(g.ids ? { answer_id: i + 1 } : {}) }));
    // evalQA is round(100 * acc, 2); the exact accuracies here are multiples of 1/30.
    expect(100 * vqaAccuracy(g.pred, records, { variant: g.variant })).toBeCloseTo(g.evalQA, 2);
  });

  it('plain string answers are a true leave-one-out (unique ids)', () => {
    expect(vqaAccuracy('dog', Array(10).fill('dog'))).toBe(1);
    // 2 matching annotators: 8 subsets see 2 matches (2/3), 2 subsets see 1 (1/3) -> 0.6
    expect(vqaAccuracy('dog', ['dog', 'dog', ...Array(8).fill('cat')])).toBeCloseTo(0.6, 12);
  });

  it('rejects an empty answer list', () => {
    expect(() => vqaAccuracy('x', [])).toThrow(/no ground-truth answers/);
  });

  it('scores a prediction file against annotations, with per-type means and an interval', () => {
    const ann = parseVqaAnnotations('ann.json', {
      annotations: [
        { question_id: 1, question_type: 'what', answer_type: 'other', answers: Array.from({ length: 10 }, (_, i) => ({ answer: 'red', answer_id: i + 1 })) },
        { question_id: 2, question_type: 'how many', answer_type: 'number', answers: Array.from({ length: 10 }, (_, i) => ({ answer: i < 9 ? '2' : '3', answer_id: i + 1 })) },
      ],
    });
    const s = scoreVqa([{ questionId: 1, answer: 'red' }, { questionId: '2', answer: 'two' }], ann);
    expect(s.overall).toBe(1);
    expect(s.perAnswerType.get('number')).toBe(1);
    expect(() => scoreVqa([{ questionId: 1, answer: 'red' }], ann)).toThrow(/1 annotated questions have no prediction \(first: 2\)/);
    expect(() => scoreVqa([{ questionId: 7, answer: 'red' }], ann, { requireAll: false })).toThrow(/question_id 7, which is not in the annotations/);
    expect(scoreVqa([{ questionId: 1, answer: 'blue' }], ann, { requireAll: false }).overall).toBe(0);
  });
});

describe('exact match and option letters', () => {
  it('uses the reference answer span (before the first "." and newline, stripped, case-insensitive)', () => {
    expect(firstAnswerSpan('  Yes. It is.\nmore')).toBe('Yes');
    expect(exactMatch('B. tree poppy', 'b')).toBe(true);
    expect(exactMatch('tree poppy', 'B')).toBe(false);
    expect(normalizedExactMatch('Two dogs', '2 dogs')).toBe(true);
  });

  it('extracts the option letter from typical generations', () => {
    const opts = ['pink primrose', 'tree poppy'];
    const cases: [string, string | null][] = [
      ['B', 'B'], [' a', 'A'], ['(B)', 'B'], ['B.', 'B'], ['A. pink primrose', 'A'], ['(A) pink', 'A'], ['B)', 'B'],
      ['The answer is B', 'B'], ['answer: a', 'A'], ['tree poppy', 'B'], ['It is a pink primrose.', 'A'],
      ['C', null], ['I do not know', null],
    ];
    for (const [g, want] of cases) expect(extractOptionLetter(g, opts), g).toBe(want);
    expect(extractOptionLetter('a desert rose', ['rose', 'desert rose'])).toBe('B');
    expect(optionAccuracy([{ generation: 'A', options: opts, target: 'A' }, { generation: 'tree poppy', options: opts, target: 'A' }]).accuracy).toBe(0.5);
  });
});

describe('intervals', () => {
  it('Wilson matches the textbook 8/10 and 0/n values', () => {
    const w = wilsonInterval(8, 10);
    expect(w.lower).toBeCloseTo(0.4902, 4);
    expect(w.upper).toBeCloseTo(0.9433, 4);
    const z = wilsonInterval(0, 20);
    expect(z.lower).toBe(0);
    expect(z.upper).toBeCloseTo(0.1611, 4);
    expect(() => wilsonInterval(11, 10)).toThrow(/outside/);
  });

  it('normal and bootstrap intervals of a mean agree on a large sample and bootstrap is seeded', () => {
    const xs = Array.from({ length: 400 }, (_, i) => ((i * 7) % 11) / 10);
    const n = normalMeanInterval(xs);
    const b = bootstrapMeanInterval(xs, { seed: 3, resamples: 1000 });
    expect(b.estimate).toBeCloseTo(n.estimate, 12);
    expect(Math.abs(b.lower - n.lower)).toBeLessThan(0.01);
    expect(Math.abs(b.upper - n.upper)).toBeLessThan(0.01);
    expect(bootstrapMeanInterval(xs, { seed: 3, resamples: 1000 })).toEqual(b);
  });
});
