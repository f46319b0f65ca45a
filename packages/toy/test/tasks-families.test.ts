import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  ABSENT_SHAPES, CHANCE, COLOURS, NONSENSE_LABELS, SHAPES, SUB_TASKS, SUB_TASK_ANSWERS, TASK_FAMILIES, UNANSWERABLE, analyseImage,
  attributeWord, formatEpisode, taskInference, twoWay, vqa, type Episode, type Example, type Scene,
} from '../src/index.js';

const scene = (ex: Example): Scene => {
  const s = analyseImage(ex.image);
  if (typeof s === 'string') throw new Error(`unreadable image: ${s}`);
  return s;
};

const fingerprint = (ep: Episode): string =>
  [...ep.shots, ep.query].map((e) => `${e.question}|${e.answer}|${e.answers.join(',')}|${Buffer.from(e.image.data).toString('base64')}`).join('\n') + formatEpisode(ep).text;

describe('task families: determinism', () => {
  for (const fam of Object.values(TASK_FAMILIES)) {
    it(`${fam.name}: same seed gives identical episodes; different seeds differ`, () => {
      expect(fingerprint(fam.episode(11, 4))).toBe(fingerprint(fam.episode(11, 4)));
      expect(fingerprint(fam.episode(11, 4))).not.toBe(fingerprint(fam.episode(12, 4)));
      // Seeds are taken modulo 2^32.
      expect(fingerprint(fam.episode(-1, 2))).toBe(fingerprint(fam.episode(2 ** 32 - 1, 2)));
      expect(() => fam.episode(1.5, 2)).toThrow(/seed must be an integer, got 1.5/);
      expect(() => fam.episode(1, -1)).toThrow(/shots must be an integer in \[0, 64\], got -1/);
    });

    it(`${fam.name}: the query does not depend on the number of shots`, () => {
      const q = (k: number): string => fingerprint({ ...fam.episode(5, k), shots: [] });
      expect(q(0)).toBe(q(8));
      expect(fam.sample(5).question).toBe(fam.episode(5, 3).query.question);
    });
  }
});

describe('task inference', () => {
  it('fixes one sub-task per episode; every answer is that attribute read back from the pixels', () => {
    fc.assert(
      fc.property(fc.nat(), fc.integer({ min: 0, max: 8 }), (seed, k) => {
        const ep = taskInference.episode(seed, k);
        if (ep.latent.family !== 'task-inference') throw new Error('wrong latent');
        const t = ep.latent.subTask;
        for (const ex of [...ep.shots, ep.query]) {
          expect(ex.subTask).toBe(t);
          expect(ex.question).toBe('what ?');
          expect(ex.answer).toBe(attributeWord(scene(ex), t));
          expect(SUB_TASK_ANSWERS[t]).toContain(ex.answer);
        }
      }),
      { numRuns: 40 },
    );
  });

  it('draws every sub-task across episodes and honours a fixed one', () => {
    const seen = new Set(Array.from({ length: 60 }, (_, s) => taskInference.episode(s, 0).query.subTask));
    expect([...seen].sort()).toEqual([...SUB_TASKS].sort());
    expect(taskInference.episode(3, 2, { subTask: 'count' }).shots.every((e) => /^[123]$/.test(e.answer))).toBe(true);
  });

  it('has chance 0.35 (mean of 1/6, 1/4, 1/3, 1/2, 1/2)', () => {
    expect(CHANCE['task-inference']).toBeCloseTo((1 / 6 + 1 / 4 + 1 / 3 + 1 / 2 + 1 / 2) / 5, 12);
    expect(taskInference.chance({ subTask: 'colour' })).toBeCloseTo(1 / 6, 12);
  });
});

describe('two-way classification with arbitrary labels', () => {
  it('keeps classes, labels and options fixed within an episode, and answers with the letter of the class label', () => {
    fc.assert(
      fc.property(fc.nat(), fc.integer({ min: 2, max: 8 }), (seed, k) => {
        const ep = twoWay.episode(seed, k);
        if (ep.latent.family !== 'two-way') throw new Error('wrong latent');
        const { classes, labels, options } = ep.latent;
        expect(key(classes[0])).not.toBe(key(classes[1]));
        expect(labels[0]).not.toBe(labels[1]);
        expect([...options].sort()).toEqual([...labels].sort());
        const shotClasses = new Set<number>();
        for (const ex of [...ep.shots, ep.query]) {
          const s = scene(ex);
          const c = ex.classIndex!;
          // The pixels show the class the example claims.
          expect(key(s)).toBe(key(classes[c]));
          expect(ex.options).toEqual(options);
          expect(ex.label).toBe(labels[c]);
          expect(ex.answer).toBe(options[0] === labels[c] ? 'A' : 'B');
          if (ex !== ep.query) shotClasses.add(c);
        }
        // Balanced shots: both classes appear whenever k >= 2.
        expect(shotClasses.size).toBe(2);
        const zeros = ep.shots.filter((e) => e.classIndex === 0).length;
        expect(Math.abs(2 * zeros - k)).toBeLessThanOrEqual(1);
      }),
      { numRuns: 40 },
    );
  });

  it('varies the label of a class, and the letter of a class, across episodes', () => {
    const labelsOf = new Map<string, Set<string>>();
    const letters = { A: 0, B: 0 };
    const usedLabels = new Set<string>();
    for (let s = 0; s < 400; s++) {
      const q = twoWay.sample(s);
      const k = key(scene(q));
      if (!labelsOf.has(k)) labelsOf.set(k, new Set());
      labelsOf.get(k)!.add(q.label!);
      usedLabels.add(q.label!);
      letters[q.answer as 'A' | 'B']++;
    }
    // 400 queries over 24 classes: every class seen, each with several different names.
    expect(labelsOf.size).toBe(24);
    for (const names of labelsOf.values()) expect(names.size).toBeGreaterThanOrEqual(3);
    expect(usedLabels.size).toBe(NONSENSE_LABELS.length);
    // The letter is a fair coin: 400 flips stay within 0.5 +- 0.1 (about 4 sigma).
    expect(letters.A / 400).toBeGreaterThan(0.4);
    expect(letters.A / 400).toBeLessThan(0.6);
  });

  it('has chance 0.5', () => expect(CHANCE['two-way']).toBe(0.5));
});

function key(c: { colour: string; shape: string }): string {
  return `${c.colour}-${c.shape}`;
}

/** Recompute a VQA answer from the question text and the pixels alone. */
function vqaOracle(q: string, s: Scene): string {
  let m: RegExpMatchArray | null;
  if ((m = q.match(/^what colour is the (\w+) \?$/))) return m[1] === s.shape ? s.colour : UNANSWERABLE;
  if ((m = q.match(/^what shape is the (\w+) object \?$/))) return m[1] === s.colour ? s.shape : UNANSWERABLE;
  if ((m = q.match(/^where is the (\w+) \?$/))) return m[1] === s.shape ? s.position : UNANSWERABLE;
  if ((m = q.match(/^what size is the (\w+) \?$/))) return m[1] === s.shape ? s.size : UNANSWERABLE;
  if ((m = q.match(/^how many (\w+) are there \?$/))) return m[1] === `${s.shape}s` || m[1] === `${s.shape}es` ? String(s.count) : 'bad plural';
  if ((m = q.match(/^is there a (\w+) \?$/))) return m[1] === s.shape ? 'yes' : 'no';
  return `unknown question '${q}'`;
}

describe('vqa with the unanswerable convention', () => {
  it('answers match the pixels; unanswerable exactly when the question names an absent object', () => {
    fc.assert(
      fc.property(fc.nat(), (seed) => {
        const ex = vqa.sample(seed);
        expect(ex.answer).toBe(vqaOracle(ex.question, scene(ex)));
        expect(ex.answerable).toBe(ex.answer !== UNANSWERABLE);
      }),
      { numRuns: 150 },
    );
  });

  it('mixes 30-50% unanswerable questions and covers every question type and absent-object word', () => {
    const n = 600;
    const exs = Array.from({ length: n }, (_, s) => vqa.sample(s));
    const rate = exs.filter((e) => e.answer === UNANSWERABLE).length / n;
    expect(rate).toBeGreaterThan(0.3);
    expect(rate).toBeLessThan(0.5);
    expect(new Set(exs.map((e) => e.questionType)).size).toBe(6);
    const words = new Set(exs.flatMap((e) => e.question.split(' ')));
    for (const w of [...ABSENT_SHAPES, ...SHAPES, ...COLOURS]) expect(words.has(w)).toBe(true);
    // A rate override is honoured.
    const low = Array.from({ length: 200 }, (_, s) => vqa.sample(s, { unanswerableRate: 0.1 })).filter((e) => !e.answerable).length;
    expect(low).toBeLessThan(40);
    expect(() => vqa.sample(1, { unanswerableRate: 1.5 })).toThrow(/unanswerableRate must be in \[0, 1\], got 1.5/);
  });

  it('gives ten annotator answers with at least 7 equal to the answer, some with synonyms', () => {
    const exs = Array.from({ length: 300 }, (_, s) => vqa.sample(s));
    let withSynonym = 0;
    for (const e of exs) {
      expect(e.answers).toHaveLength(10);
      expect(e.answers.filter((a) => a === e.answer).length).toBeGreaterThanOrEqual(7);
      if (e.answers.some((a) => a !== e.answer)) withSynonym++;
    }
    expect(withSynonym).toBeGreaterThan(10);
  });

  it('shows both an answerable and an unanswerable shot in every episode with >= 2 shots', () => {
    for (let s = 0; s < 40; s++) {
      const ep = vqa.episode(s, 2 + (s % 7));
      expect(ep.shots.some((e) => e.answerable)).toBe(true);
      expect(ep.shots.some((e) => !e.answerable)).toBe(true);
    }
  });

  it('has the chance of type-aware uniform guessing', () => {
    // P(type): 0.6/6 answerable + 0.4/4 unanswerable for colour/shape/where/size, 0.1 for count/exists.
    const expected = 0.2 / 7 + 0.2 / 5 + 0.2 / 3 + 0.2 / 3 + 0.1 / 3 + 0.1 / 2;
    expect(CHANCE.vqa).toBeCloseTo(expected, 12);
    // Empirical type frequencies agree with those probabilities (600 draws, +-0.06 is > 3 sigma).
    const exs = Array.from({ length: 600 }, (_, s) => vqa.sample(s + 10_000));
    for (const [t, p] of [['colour-of', 0.2], ['count-of', 0.1], ['exists', 0.1], ['where', 0.2]] as const) {
      expect(Math.abs(exs.filter((e) => e.questionType === t).length / 600 - p)).toBeLessThan(0.06);
    }
  });
});
