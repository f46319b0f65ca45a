// Issue 10: both VQA scorers against their Python originals, single-answer items, the reference's
// 2-way rule and answer clean-up, scorer names, annotation coverage, Wilson intervals for 0/1 scores.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  answerSpan, checkAnnotationCoverage, defaultVqaScorer, parseVqaScorer, scoreGeneration, scoreInterval, vqaAccuracy, vqaAnswersOf,
  type Prompt, type VqaAnnotation,
} from '@mtv/mtv';

interface Case { pred: string; answers: string[]; official: number; lavis: number }
const golden = JSON.parse(readFileSync(new URL('./fixtures/vqa-golden-scorers.json', import.meta.url), 'utf8')) as { cases: Case[] };

describe('VQA scorers match their Python originals on 400 crafted cases', () => {
  it('has the cases, and the two scorers disagree on many of them', () => {
    expect(golden.cases.length).toBe(400);
    expect(golden.cases.filter((c) => c.official !== c.lavis).length).toBeGreaterThan(50);
  });
  for (const variant of ['official', 'lavis'] as const) {
    it(`${variant}: every case equals vqaEval's evalQA (10 places)`, () => {
      const wrong: string[] = [];
      for (const c of golden.cases) {
        const records = c.answers.map((a, i) => ({ answer: a, answer_confidence: 'yes', answer_id: i + 1 }));
        const got = Math.round(1e10 * 100 * vqaAccuracy(c.pred, records, { variant })) / 1e10;
        if (Math.abs(got - c[variant]) > 1e-8) wrong.push(`${JSON.stringify(c.pred)} vs ${JSON.stringify(c.answers)}: ${got} != ${c[variant]}`);
      }
      expect(wrong).toEqual([]);
    });
  }
});

const vqaPrompt = (answer: string, extra: Partial<Prompt> = {}): Prompt =>
  ({ text: 'q Answer:', images: [], answer, continuation: ` ${answer}`, exampleId: 'e', ...extra }) as Prompt;

describe('single-answer VQA items', () => {
  it('score 1 on a match after normalisation, 0 otherwise (not always 0)', () => {
    const p = vqaPrompt('yes');
    expect(scoreGeneration('vqa', p, 'Yes.', undefined, { format: 'vizwiz' })).toBe(1);
    expect(scoreGeneration('vqa', p, 'yes', undefined, { vqaScorer: 'official' })).toBe(1);
    expect(scoreGeneration('vqa', p, 'no', undefined, { format: 'vizwiz' })).toBe(0);
  });
  it('score as an annotation file that repeats the answer ten times', () => {
    const preds = ['Yes', 'yes.', 'Two', '2', 'a dog', 'dog', 'no', 'unanswerable\nmore'];
    for (const answer of ['yes', '2', 'dog', 'unanswerable']) {
      const ann = new Map<string, VqaAnnotation>([['q1', { questionId: 'q1', answers: Array.from({ length: 10 }, (_, i) => ({ answer, answer_id: i + 1 })) }]]);
      for (const scorer of ['lavis', 'official'] as const) {
        for (const g of preds) {
          const single = scoreGeneration('vqa', vqaPrompt(answer), g, undefined, { vqaScorer: scorer });
          const annotated = scoreGeneration('vqa', vqaPrompt(answer, { questionId: 'q1' }), g, ann, { vqaScorer: scorer });
          expect(single, `${scorer} ${g} vs ${answer}`).toBe(annotated);
        }
      }
    }
    expect(vqaAnswersOf(['x'])).toHaveLength(10);
    expect(vqaAnswersOf(['x', 'y'])).toEqual(['x', 'y']);
  });
});

describe('scorer choice', () => {
  it('defaults to lavis for the reference VQA formats, official elsewhere', () => {
    expect(defaultVqaScorer('vizwiz')).toBe('lavis');
    expect(defaultVqaScorer('okvqa')).toBe('lavis');
    expect(defaultVqaScorer('jsonl')).toBe('official');
  });
  it('"Yes" against ten "yes" scores 1 with lavis, 0 with official', () => {
    const p = vqaPrompt('yes');
    expect(scoreGeneration('vqa', p, 'Yes', undefined, { vqaScorer: 'lavis' })).toBe(1);
    expect(scoreGeneration('vqa', p, 'Yes', undefined, { vqaScorer: 'official' })).toBe(0);
  });
  it('an unknown scorer lists the known ones', () => {
    expect(() => parseVqaScorer('vqa2')).toThrow(/unknown VQA scorer "vqa2"; known: lavis, official/);
  });
});

describe('2-way rule and answer clean-up', () => {
  const p = vqaPrompt('B', { options: ['rose', 'tulip'] });
  it('reference: the first span, lower-cased, equals the letter', () => {
    expect(scoreGeneration('option', p, 'B. tulip', undefined, {})).toBe(1);
    expect(scoreGeneration('option', p, 'b\nmore', undefined, {})).toBe(1);
    expect(scoreGeneration('option', p, '(B)', undefined, {})).toBe(0);
    expect(scoreGeneration('option', p, 'the answer is B', undefined, {})).toBe(0);
    expect(scoreGeneration('option', p, 'tulip', undefined, {})).toBe(0);
  });
  it('lenient accepts "(B)", "answer is B" and the label', () => {
    for (const g of ['(B)', 'the answer is B', 'tulip']) expect(scoreGeneration('option', p, g, undefined, { optionRule: 'lenient' })).toBe(1);
  });
  it("answer span is split('.')[0].split('\\n')[0].strip() by default", () => {
    expect(answerSpan(' cross. green\nzup')).toBe('cross');
    expect(answerSpan('3.5 inches')).toBe('3');
    expect(answerSpan('3.5 inches', 'line')).toBe('3.5 inches');
  });
});

describe('intervals and annotation coverage', () => {
  it('0/1 scores get a Wilson interval even under the vqa metric (never [100, 100])', () => {
    const iv = scoreInterval('vqa', Array(20).fill(1));
    expect(iv.method).toBe('wilson');
    expect(iv.lower).toBeLessThan(1);
    expect(scoreInterval('vqa', [1, 0.3, 0]).method).toBe('normal');
  });
  it('an annotation file not covering the question ids names the first missing ids and the count', () => {
    const ann = new Map<string, VqaAnnotation>([['1', { questionId: '1', answers: [{ answer: 'x' }] }]]);
    const data = { examples: [{ questionId: '1' }, { questionId: '7' }, { questionId: '9' }] };
    expect(() => checkAnnotationCoverage(data, ann, 'ann.json')).toThrow(/ann\.json: annotations do not cover 2 of the 3 evaluated question ids \(first missing: 7, 9\)/);
    expect(() => checkAnnotationCoverage(data, ann, 'ann.json', 1)).not.toThrow();
  });
});
