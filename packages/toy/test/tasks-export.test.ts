import { afterAll, describe, expect, it } from 'vitest';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  TASK_FAMILIES, decodeRgb, mixSeed, readJsonlDataset, readTwoWayJson, readVqaDataset, writeDataset,
} from '../src/index.js';

const dirs: string[] = [];
const tmp = async (): Promise<string> => {
  const d = await mkdtemp(join(tmpdir(), 'mtv-toy-'));
  dirs.push(d);
  return d;
};
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

const samePixels = async (file: string, data: Uint8Array): Promise<boolean> => Buffer.from((await decodeRgb(file)).data).equals(Buffer.from(data));

describe('writeDataset', () => {
  it('jsonl: writes {id, image, question, answer, answers, options?} and the PNGs, and reads back', async () => {
    for (const family of ['task-inference', 'two-way'] as const) {
      const dir = await tmp();
      const res = await writeDataset(dir, family, 6, 9, { format: 'jsonl' });
      expect(res).toEqual({ family, format: 'jsonl', files: [`${family}.jsonl`], images: 6 });
      const rows = await readJsonlDataset(join(dir, `${family}.jsonl`));
      expect(rows).toHaveLength(6);
      for (const [i, row] of rows.entries()) {
        const ex = TASK_FAMILIES[family].sample(mixSeed(9, i));
        expect(row).toMatchObject({ image: `images/${family}-00000${i}.png`, question: ex.question, answer: ex.answer, answers: ex.answers });
        expect(row.options).toEqual(ex.options);
        expect(await samePixels(join(dir, row.image), ex.image.data)).toBe(true);
      }
    }
  });

  it('two-way-json: writes the reference {pos, neg, query, pos_label, neg_label} list', async () => {
    const dir = await tmp();
    const res = await writeDataset(dir, 'two-way', 4, 3);
    expect(res).toEqual({ family: 'two-way', format: 'two-way-json', files: ['two-way.json'], images: 12 });
    const items = await readTwoWayJson(join(dir, 'two-way.json'));
    expect(items).toHaveLength(4);
    for (const [i, it] of items.entries()) {
      const ep = TASK_FAMILIES['two-way'].episode(mixSeed(3, i), 2);
      if (ep.latent.family !== 'two-way') throw new Error('wrong latent');
      const qc = ep.query.classIndex!;
      expect(it.pos_label).toBe(ep.latent.labels[qc]);
      expect(it.neg_label).toBe(ep.latent.labels[1 - qc]);
      expect(it.pos.startsWith('./images/')).toBe(true);
      expect(await samePixels(join(dir, it.query), ep.query.image.data)).toBe(true);
      expect(await samePixels(join(dir, it.pos), ep.shots.find((s) => s.classIndex === qc)!.image.data)).toBe(true);
      expect(await samePixels(join(dir, it.neg), ep.shots.find((s) => s.classIndex !== qc)!.image.data)).toBe(true);
    }
    await expect(writeDataset(dir, 'vqa', 1, 0, { format: 'two-way-json' })).rejects.toThrow(/two-way-json needs the two-way family/);
  });

  it('vqa: writes VizWiz-style JSONL and official-VQA annotations that agree', async () => {
    const dir = await tmp();
    const res = await writeDataset(dir, 'vqa', 8, 5);
    expect(res.files).toEqual(['vqa_questions.jsonl', 'vqa_annotations.json']);
    const { questions, annotations } = await readVqaDataset(join(dir, res.files[0]!), join(dir, res.files[1]!));
    expect(questions.map((q) => q.question_id)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    for (const q of questions) {
      const ex = TASK_FAMILIES.vqa.sample(mixSeed(5, q.question_id));
      expect(q).toEqual({ image: `images/vqa-00000${q.question_id}.png`, question: ex.question, answer: ex.answer, question_id: q.question_id });
      const ann = annotations.annotations.find((a) => a.question_id === q.question_id)!;
      expect(ann.answers.map((a) => a.answer)).toEqual(ex.answers);
      expect(ann.multiple_choice_answer).toBe(ex.answer);
      expect(await samePixels(join(dir, q.image), ex.image.data)).toBe(true);
    }
    expect((await readdir(join(dir, 'images'))).length).toBe(8);
  });

  it('is byte-for-byte reproducible and validates its arguments', async () => {
    const [d1, d2] = [await tmp(), await tmp()];
    await writeDataset(d1, 'task-inference', 3, 1, { imageSize: 20 });
    await writeDataset(d2, 'task-inference', 3, 1, { imageSize: 20 });
    for (const f of ['task-inference.jsonl', 'images/task-inference-000002.png']) {
      expect((await readFile(join(d1, f))).equals(await readFile(join(d2, f)))).toBe(true);
    }
    expect((await decodeRgb(join(d1, 'images/task-inference-000000.png'))).width).toBe(20);
    await expect(writeDataset(d1, 'nope' as 'vqa', 1, 0)).rejects.toThrow(/unknown task family 'nope'/);
    await expect(writeDataset(d1, 'vqa', -2, 0)).rejects.toThrow(/n must be a non-negative integer, got -2/);
  });
});
