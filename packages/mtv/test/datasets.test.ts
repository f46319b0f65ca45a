import { mkdtempSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildPrompt, loadDataset, loadVqaAnnotations, sampleRound, type ImageDecoder, type ImageProblem } from '@mtv/mtv';

// A real decoder for the 'decode' check (@mtv/model's decodeImage will plug in the same way).
const decode: ImageDecoder = (p) => sharp(p).raw().toBuffer();

let dir: string;
let root: string;
const png = (w: number, h: number): Promise<Buffer> =>
  sharp({ create: { width: w, height: h, channels: 3, background: { r: 200, g: 30, b: 30 } } }).png().toBuffer();
const write = (rel: string, text: string): string => {
  const p = path.join(dir, rel);
  writeFileSync(p, text);
  return p;
};
const jsonl = (rows: unknown[]): string => rows.map((r) => JSON.stringify(r)).join('\n') + '\n';

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'mtv-ds-'));
  root = path.join(dir, 'data');
  mkdirSync(path.join(root, 'img'), { recursive: true });
  for (const n of ['a', 'b', 'c', 'd']) writeFileSync(path.join(root, 'img', `${n}.png`), await png(4, 3));
  writeFileSync(path.join(root, 'img', 'broken.jpg'), 'not a jpeg at all');
  writeFileSync(path.join(dir, 'outside.png'), await png(2, 2));
  symlinkSync(path.join(dir, 'outside.png'), path.join(root, 'img', 'link-out.png'));
  // The reference's 2-way sample files, with their ./flowers-102/... etc. paths created as images.
  for (const f of ['flower', 'cub', 'dtd']) {
    const items = JSON.parse(readFileSync(new URL(`./fixtures/${f}_train.sample.json`, import.meta.url), 'utf8')) as Record<string, string>[];
    for (const it of items) {
      for (const k of ['pos', 'neg', 'query']) {
        mkdirSync(path.dirname(path.join(root, it[k])), { recursive: true });
        writeFileSync(path.join(root, it[k]), await png(2, 2));
      }
    }
  }
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const fixture = (f: string): string => new URL(`./fixtures/${f}_train.sample.json`, import.meta.url).pathname;

describe('2-way reference files', () => {
  it.each([['flower', 'flower'], ['cub', 'bird'], ['dtd', 'texture']])('%s loads and prompts', async (format, subject) => {
    const ds = await loadDataset({ file: fixture(format), format, root, checkImages: 'decode', decoder: decode });
    const items = JSON.parse(readFileSync(fixture(format), 'utf8')) as Record<string, string>[];
    expect(ds.examples).toHaveLength(items.length);
    const e = ds.examples[0];
    expect(e.kind).toBe('two-way');
    if (e.kind !== 'two-way') return;
    expect(e.images[0]).toBe(path.join(root, items[0].pos));
    expect(e.posLabel).toBe(items[0].pos_label);
    const r = sampleRound(ds.examples, { seed: 1, round: 0, shots: 0 });
    const p = buildPrompt(ds.format, r);
    expect(p.text).toContain(`What is the type of ${subject} in the image?`);
    expect(ds.hash).toMatch(/^[0-9a-f]{64}$/);
  });
});

describe('VizWiz / OK-VQA lines and annotations', () => {
  it('loads lines, keeps question ids, and scores against the annotation JSON', async () => {
    const file = write('data/vizwiz_val.jsonl', jsonl([
      { image: 'img/a.png', question: 'What is this?', answer: 'soup', question_id: 101 },
      { image: 'img/b.png', question: 'Color?', answer: ['red', 'dark red'], question_id: 102 },
    ]));
    const ds = await loadDataset({ file, format: 'vizwiz' });
    expect(ds.root).toBe(root);
    expect(ds.examples.map((e) => e.id)).toEqual(['101', '102']);
    const e = ds.examples[1];
    expect(e.kind === 'qa' && e.answer).toBe('red');
    const ann = await loadVqaAnnotations(write('ann.json', JSON.stringify({ annotations: [{ question_id: 101, answers: [{ answer: 'soup', answer_id: 1 }] }] })));
    expect(ann.get('101')?.answers[0].answer).toBe('soup');
    await expect(loadVqaAnnotations(write('bad-ann.json', '{"annotations": [{"answers": []}]}'))).rejects.toThrow(/annotation 0: no 'question_id'/);
  });
});

describe('generic JSONL', () => {
  it('accepts image or images, options with a label or letter answer', async () => {
    const file = write('data/generic.jsonl', jsonl([
      { id: 'x1', images: ['img/a.png', 'img/b.png'], question: 'Same?', answer: 'no' },
      { image: 'img/c.png', question: 'Shape?', answer: 'circle', options: ['square', 'circle'] },
      { image: 'img/d.png', question: 'Shape?', answer: 'A', options: ['square', 'circle'], answers: ['A', 'A'] },
    ]));
    const ds = await loadDataset({ file, format: 'jsonl' });
    expect(ds.examples.map((e) => e.id)).toEqual(['x1', '1', '2']);
    expect(ds.examples[0].images).toHaveLength(2);
    const bad = write('data/bad.jsonl', jsonl([{ image: 'img/c.png', question: 'Q', answer: 'triangle', options: ['square', 'circle'] }]));
    await expect(loadDataset({ file: bad, format: 'jsonl' })).rejects.toThrow(/line 1: answer "triangle" is neither an option letter A..B nor one of the options/);
    const noq = write('data/noq.jsonl', '{"image": "img/a.png", "answer": "x"}\n');
    await expect(loadDataset({ file: noq, format: 'jsonl' })).rejects.toThrow(/line 1: field 'question' must be a string \(got nothing\)/);
  });

  it('the hash names the data, not where it is mounted or how the file is spelled', async () => {
    const rows = [{ image: 'img/a.png', question: 'Q', answer: 'x' }];
    const a = await loadDataset({ file: write('data/h1.jsonl', jsonl(rows)), format: 'jsonl' });
    const b = await loadDataset({ file: write('data/h2.jsonl', JSON.stringify(rows[0]) + '\n\n'), format: 'jsonl' });
    const c = await loadDataset({ file: write('data/h3.jsonl', jsonl([{ ...rows[0], answer: 'y' }])), format: 'jsonl' });
    expect(b.hash).toBe(a.hash);
    expect(c.hash).not.toBe(a.hash);
  });
});

describe('paths and bad images', () => {
  const one = (image: string): string => jsonl([{ image, question: 'Q', answer: 'x' }, { image: 'img/a.png', question: 'Q2', answer: 'y' }]);

  it('rejects paths that escape the data root, whatever onBadImage says', async () => {
    for (const [image, why] of [
      ['../outside.png', /escapes the data root .*resolves to/],
      [path.join(dir, 'outside.png'), /escapes the data root/],
      ['img/link-out.png', /follows a symlink to .*outside\.png/],
    ] as const) {
      const file = write('data/esc.jsonl', one(image));
      await expect(loadDataset({ file, format: 'jsonl', onBadImage: 'skip' }), image).rejects.toThrow(why);
    }
    // an absolute path inside the root is fine
    await expect(loadDataset({ file: write('data/abs.jsonl', one(path.join(root, 'img/b.png'))), format: 'jsonl' })).resolves.toBeTruthy();
  });

  it('reports a missing or undecodable image with its path and example id; skips or fails by option', async () => {
    const missing = write('data/missing.jsonl', one('img/nope.png'));
    await expect(loadDataset({ file: missing, format: 'jsonl' })).rejects.toThrow(/example "0": image .*img\/nope\.png: file not found/);
    const seen: ImageProblem[] = [];
    const ds = await loadDataset({ file: missing, format: 'jsonl', onBadImage: 'skip', onProblem: (p) => seen.push(p) });
    expect(ds.examples.map((e) => e.id)).toEqual(['1']);
    expect(ds.skipped).toEqual([{ exampleId: '0', path: path.join(root, 'img/nope.png'), reason: 'file not found' }]);
    expect(seen).toEqual(ds.skipped);

    const broken = write('data/broken.jsonl', one('img/broken.jpg'));
    await expect(loadDataset({ file: broken, format: 'jsonl' })).resolves.toBeTruthy(); // exists-only check passes
    await expect(loadDataset({ file: broken, format: 'jsonl', checkImages: 'decode', decoder: decode })).rejects.toThrow(/example "0": image .*broken\.jpg: cannot decode/);
    const skipped = await loadDataset({ file: broken, format: 'jsonl', checkImages: 'decode', decoder: decode, onBadImage: 'skip' });
    expect(skipped.skipped[0].reason).toMatch(/cannot decode/);
  });

  it('explains empty datasets, unknown formats, bad JSON and too few examples', async () => {
    await expect(loadDataset({ file: write('data/empty.jsonl', '\n\n'), format: 'jsonl' })).rejects.toThrow(/dataset is empty/);
    await expect(loadDataset({ file: write('data/x.jsonl', one('img/a.png')), format: 'coco' })).rejects.toThrow(/unknown dataset format "coco"; known formats: jsonl, vizwiz, okvqa, flower, cub, dtd/);
    await expect(loadDataset({ file: write('data/j.jsonl', '{"image": '), format: 'okvqa' })).rejects.toThrow(/line 1: not valid JSON/);
    await expect(loadDataset({ file: write('data/f.json', '{"pos": 1}'), format: 'flower' })).rejects.toThrow(/expects a JSON list/);
    await expect(loadDataset({ file: path.join(dir, 'nofile.jsonl'), format: 'jsonl' })).rejects.toThrow(/cannot read dataset file/);
    const all = await loadDataset({ file: write('data/all-bad.jsonl', jsonl([{ image: 'img/zz.png', question: 'Q', answer: 'x' }])), format: 'jsonl', onBadImage: 'skip' }).catch((e: Error) => e);
    expect((all as Error).message).toMatch(/every one of the 1 examples was skipped/);
    const ds = await loadDataset({ file: write('data/two.jsonl', one('img/c.png')), format: 'jsonl' });
    expect(() => sampleRound(ds.examples, { seed: 0, round: 0, shots: 4 })).toThrow(/needs 4 shots \+ 1 query = 5 distinct examples, but the dataset has only 2/);
  });
});
