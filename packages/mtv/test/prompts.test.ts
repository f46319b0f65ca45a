import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { buildPrompt, IMAGE_TOKEN, type QaExample, type TwoWayExample } from '@mtv/mtv';

type Golden = Record<string, [string, string[], string, unknown]>;
const golden = JSON.parse(readFileSync(new URL('./fixtures/prompts-golden.json', import.meta.url), 'utf8')) as Golden;

const qa = (id: string, image: string, question: string, answer: string): QaExample => ({ kind: 'qa', id, images: [image], question, answer, questionId: id });
// The same items the golden file was generated from (fixtures/README.md).
const shots = [qa('11', 'img/s1.jpg', 'What color is this?', 'blue'), qa('12', 'img/s2.jpg', 'What is it?', 'unanswerable')];
const query = qa('13', 'img/q.jpg', 'Which brand?', 'nike');
const item: TwoWayExample = { kind: 'two-way', id: '0', images: ['p.jpg', 'n.jpg', 'q.jpg'], posLabel: 'pink primrose', negLabel: 'tree poppy' };

describe('reference prompt formats, string for string', () => {
  it.each(['vizwiz', 'okvqa'] as const)('%s', (format) => {
    const p = buildPrompt(format, { shots, query, variant: 0 });
    const [text, images, answer] = golden[format];
    expect(p.text).toBe(text);
    // The reference prefixes VizWiz paths with "../" (relative to its script); ours are resolved paths.
    expect(p.images.map((s) => s.replace(/^\.\.\//, ''))).toEqual(images.map((s) => s.replace(/^\.\.\//, '')));
    expect(p.answer).toBe(answer);
    expect(p.questionId).toBe('13');
    expect(p.continuation).toBe(format === 'vizwiz' ? ' nike' : 'nike');
  });

  it.each(['flower', 'cub', 'dtd'] as const)('%s in both option orders', (format) => {
    for (const bit of [0, 1]) {
      const p = buildPrompt(format, { shots: [], query: item, variant: 0xfffffffe + bit });
      const [text, images, answer] = golden[`${format}${bit}`];
      expect(p.text).toBe(text);
      expect(p.images).toEqual(images);
      expect(p.answer).toBe(answer);
      expect(p.options).toEqual(bit === 0 ? ['pink primrose', 'tree poppy'] : ['tree poppy', 'pink primrose']);
    }
    expect(() => buildPrompt(format, { shots: [item], query: item, variant: 0 })).toThrow(/carries its own two examples/);
  });
});

describe('generic format', () => {
  it('places one <image> per image, answers after "Answer:" and letters for options', () => {
    const mc: QaExample = { kind: 'qa', id: 'm', images: ['a.png', 'b.png'], question: 'Which is larger?', answer: 'right', options: ['left', 'right'] };
    const p = buildPrompt('jsonl', { shots: [qa('s', 's.png', 'Q1?', 'yes')], query: mc, variant: 0 }, { instruction: 'Look.\n' });
    expect(p.text).toBe(
      "Look.\n<image>Q1? Answer: yes\n<image><image>Which is larger? A.left B.right\nAnswer with the option's letter from the given choice directly. Answer:",
    );
    expect(p.images).toEqual(['s.png', 'a.png', 'b.png']);
    expect(p.answer).toBe('B');
    expect(p.text.split(IMAGE_TOKEN).length - 1).toBe(p.images.length);
  });

  it('refuses a mismatched example kind or a question that smuggles an <image> mark', () => {
    expect(() => buildPrompt('vizwiz', { shots: [], query: item, variant: 0 })).toThrow(/needs question-answer examples, got a two-way example/);
    expect(() => buildPrompt('jsonl', { shots: [], query: qa('x', 'x.png', 'see <image>', 'a'), variant: 0 })).toThrow(/2 <image> marks but 1 images/);
  });
});
