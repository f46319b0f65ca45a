// The worker renders prompts from the wire (templates + examples with image bytes); the text and the
// image order must equal @mtv/mtv's buildPrompt exactly, for every dataset format, or a distributed
// run would not equal a single-process one.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { buildPrompt, type DatasetFormat, type Example, type QaExample, type TwoWayExample } from '@mtv/mtv';
import { ImageStore, WireError, renderWirePrompt, wireExample, wireFormat } from '../src/index.js';

let dir = '';
const paths: string[] = [];
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mtv-wire-'));
  // Each "image" file holds its own path, so the bytes name the file they came from.
  for (let i = 0; i < 6; i++) {
    const p = join(dir, `img${i}.png`);
    await writeFile(p, p);
    paths.push(p);
  }
});
afterAll(() => rm(dir, { recursive: true, force: true }));

const word = fc.stringMatching(/^[A-Za-z0-9 ?.,'-]{1,20}$/);
const qa = (id: string, nImages: number, withOptions: boolean): fc.Arbitrary<QaExample> =>
  fc.record({ question: word, answer: word, other: word, img: fc.nat(5) }).map((r) => ({
    kind: 'qa' as const, id, images: Array.from({ length: nImages }, (_, k) => paths[(r.img + k) % paths.length]!), question: r.question,
    answer: withOptions ? r.answer : r.answer, ...(withOptions ? { options: [r.answer, `${r.other}x`] } : {}),
  }));

async function check(format: DatasetFormat, shots: readonly Example[], query: Example, variant: number, instruction?: string): Promise<void> {
  const opts = instruction !== undefined ? { instruction } : {};
  const store = new ImageStore();
  const want = buildPrompt(format, { shots, query, variant }, opts);
  const got = renderWirePrompt(
    wireFormat(format, opts),
    await Promise.all(shots.map((s) => wireExample(format, s, variant, store))),
    await wireExample(format, query, variant, store),
  );
  expect(got.text).toBe(want.text);
  expect(got.images.map((i) => Buffer.from(i.bytes).toString())).toEqual(want.images);
  expect(got.continuation).toBe(want.continuation);
  expect(got.images.every((i) => i.mime === 'image/png')).toBe(true);
}

describe('renderWirePrompt equals buildPrompt', () => {
  it('generic JSONL, with and without options, one or two images, with an instruction', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(qa('s', 1, false), { minLength: 0, maxLength: 3 }), qa('q', 2, false), fc.boolean(), fc.option(word, { nil: undefined }),
        async (shots, query, opt, instruction) => {
          const s = shots.map((e, i) => ({ ...e, id: `s${i}` }));
          if (opt) await check('jsonl', s.map((e) => ({ ...e, options: [e.answer, 'zz'] })), { ...query, options: [query.answer, 'zz'] }, 0, instruction);
          else await check('jsonl', s, query, 0, instruction);
        },
      ),
      { numRuns: 10 },
    );
  });

  it('VizWiz and OK-VQA', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(qa('s', 1, false), { maxLength: 4 }), qa('q', 1, false), async (shots, query) => {
        const s = shots.map((e, i) => ({ ...e, id: `s${i}` }));
        await check('vizwiz', s, query, 0);
        await check('okvqa', s, query, 0);
      }),
      { numRuns: 8 },
    );
  });

  it('2-way items in both option orders', async () => {
    const item: TwoWayExample = { kind: 'two-way', id: 'tw1', images: [paths[0]!, paths[1]!, paths[2]!], posLabel: 'rose', negLabel: 'tulip' };
    for (const format of ['flower', 'cub', 'dtd'] as const) {
      await check(format, [], item, 0);
      await check(format, [], item, 1);
    }
    const store = new ImageStore();
    expect((await wireExample('flower', item, 2, store)).id).toBe('tw1#0');
    expect((await wireExample('flower', item, 3, store)).id).toBe('tw1#1');
  });

  it('refuses what buildPrompt refuses, naming the example', async () => {
    const store = new ImageStore();
    const two: QaExample = { kind: 'qa', id: 'two-images', images: [paths[0]!, paths[1]!], question: 'what', answer: 'red' };
    await expect(wireExample('vizwiz', two, 0, store)).rejects.toThrow(/two-images has 2 images, the format takes one/);
    await expect(wireExample('jsonl', { ...two, id: 'gone', images: [join(dir, 'missing.png')] }, 0, store)).rejects.toThrow(/cannot read image .*missing\.png/);
    const bad = { id: 'x', images: [], text: 'a <image> b', answer: 'c' };
    expect(() => renderWirePrompt(wireFormat('jsonl'), [], bad)).toThrow(WireError);
    expect(() => renderWirePrompt({ ...wireFormat('jsonl'), shot: '{answer}' }, [], { ...bad, text: 'a' })).toThrow(/must be a prefix of the shot template/);
  });
});
