// Writing a family to disk in the formats the file-based loaders read: generic JSONL, the
// reference repo's 2-way JSON list, and VizWiz-style JSONL plus official-VQA annotations.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { getFamily } from './families/index.js';
import { encodePng } from './png.js';
import { mixSeed, toSeed } from './rng.js';
import { checkFamily, type Example, type FamilyName, type TaskOptions } from './types.js';

export const DATASET_FORMATS = ['jsonl', 'two-way-json', 'vqa'] as const;
export type DatasetFormat = (typeof DATASET_FORMATS)[number];

/** Generic JSONL line. `image` is relative to the dataset directory. */
export interface JsonlRecord {
  id: string;
  image: string;
  question: string;
  answer: string;
  answers?: string[];
  options?: [string, string];
}

/** One item of the reference repo's Flowers/CUB/DTD JSON list; the query is of the pos class. */
export interface TwoWayRecord {
  pos: string;
  neg: string;
  query: string;
  pos_label: string;
  neg_label: string;
}

/** VizWiz-style JSONL line, as the reference repo's format_vizwiz reads it. */
export interface VqaRecord {
  image: string;
  question: string;
  answer: string;
  question_id: number;
}

/** Official VQA annotation file (the fields the VQA evaluation reads). */
export interface VqaAnnotationFile {
  info: { description: string; seed: number; family: FamilyName };
  annotations: {
    question_id: number;
    image_id: number;
    question_type: string;
    answer_type: string;
    multiple_choice_answer: string;
    answers: { answer: string; answer_confidence: 'yes'; answer_id: number }[];
  }[];
}

export interface WriteDatasetOptions extends TaskOptions {
  /** Default: two-way-json for the two-way family, vqa for vqa, jsonl otherwise. */
  format?: DatasetFormat;
}

export interface WrittenDataset {
  family: FamilyName;
  format: DatasetFormat;
  /** Data files written, relative to the directory. */
  files: string[];
  /** Number of PNGs written into images/. */
  images: number;
}

/** File names of a format (relative to the dataset directory). */
export function datasetFiles(family: FamilyName, format: DatasetFormat): { data: string; annotations?: string } {
  switch (format) {
    case 'jsonl':
      return { data: `${family}.jsonl` };
    case 'two-way-json':
      return { data: `${family}.json` };
    case 'vqa':
      return { data: `${family}_questions.jsonl`, annotations: `${family}_annotations.json` };
  }
}

export const defaultFormat = (family: FamilyName): DatasetFormat => (family === 'two-way' ? 'two-way-json' : family === 'vqa' ? 'vqa' : 'jsonl');

const pad = (i: number): string => String(i).padStart(6, '0');

/**
 * Write n items of a family, seeded by `seed` (item i uses mixSeed(seed, i)), with PNGs in
 * dir/images/. For two-way-json an item is one 2-shot episode (pos shot, neg shot, query).
 */
export async function writeDataset(dir: string, family: FamilyName, n: number, seed: number, opts: WriteDatasetOptions = {}): Promise<WrittenDataset> {
  checkFamily(family);
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`writeDataset(${family}): n must be a non-negative integer, got ${n}`);
  seed = toSeed(seed, `writeDataset(${family})`);
  const format = opts.format ?? defaultFormat(family);
  if (!(DATASET_FORMATS as readonly string[]).includes(format)) throw new RangeError(`writeDataset(${family}): unknown format '${format}'; expected one of ${DATASET_FORMATS.join(', ')}`);
  if (format === 'two-way-json' && family !== 'two-way') throw new RangeError(`writeDataset(${family}): format two-way-json needs the two-way family`);
  const fam = getFamily(family);
  await mkdir(join(dir, 'images'), { recursive: true });
  const files = datasetFiles(family, format);
  let images = 0;
  const savePng = async (name: string, ex: Example): Promise<string> => {
    await writeFile(join(dir, 'images', name), await encodePng(ex.image));
    images++;
    return `images/${name}`;
  };

  if (format === 'two-way-json') {
    const items: TwoWayRecord[] = [];
    for (let i = 0; i < n; i++) {
      const ep = fam.episode(mixSeed(seed, i), 2, opts);
      if (ep.latent.family !== 'two-way') throw new Error(`writeDataset: two-way episode ${i} has a ${ep.latent.family} latent`);
      const qc = ep.query.classIndex!;
      const pos = ep.shots.find((s) => s.classIndex === qc)!;
      const neg = ep.shots.find((s) => s.classIndex !== qc)!;
      const stem = `${family}-${pad(i)}`;
      items.push({
        pos: `./${await savePng(`${stem}-pos.png`, pos)}`,
        neg: `./${await savePng(`${stem}-neg.png`, neg)}`,
        query: `./${await savePng(`${stem}-query.png`, ep.query)}`,
        pos_label: ep.latent.labels[qc],
        neg_label: ep.latent.labels[1 - qc]!,
      });
    }
    await writeFile(join(dir, files.data), JSON.stringify(items, null, 1) + '\n');
    return { family, format, files: [files.data], images };
  }

  const lines: string[] = [];
  const annotations: VqaAnnotationFile['annotations'] = [];
  for (let i = 0; i < n; i++) {
    const ex = fam.sample(mixSeed(seed, i), opts);
    const image = await savePng(`${family}-${pad(i)}.png`, ex);
    if (format === 'jsonl') {
      const rec: JsonlRecord = { id: `${family}-${pad(i)}`, image, question: ex.question, answer: ex.answer, answers: ex.answers };
      if (ex.options) rec.options = ex.options;
      lines.push(JSON.stringify(rec));
    } else {
      const rec: VqaRecord = { image, question: ex.question, answer: ex.answer, question_id: i };
      lines.push(JSON.stringify(rec));
      annotations.push({
        question_id: i,
        image_id: i,
        question_type: ex.questionType ?? ex.subTask ?? family,
        answer_type: ex.answer === 'unanswerable' ? 'unanswerable' : ex.answer === 'yes' || ex.answer === 'no' ? 'yes/no' : /^\d+$/.test(ex.answer) ? 'number' : 'other',
        multiple_choice_answer: ex.answer,
        answers: ex.answers.map((answer, k) => ({ answer, answer_confidence: 'yes', answer_id: k + 1 })),
      });
    }
  }
  await writeFile(join(dir, files.data), lines.map((l) => l + '\n').join(''));
  if (format === 'jsonl') return { family, format, files: [files.data], images };
  const ann: VqaAnnotationFile = { info: { description: `@mtv/toy ${family} questions (seed ${seed})`, seed, family }, annotations };
  await writeFile(join(dir, files.annotations!), JSON.stringify(ann) + '\n');
  return { family, format, files: [files.data, files.annotations!], images };
}
