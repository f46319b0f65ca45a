// Reading the exported formats back (validated), for round-trip checks and quick inspection.
import { readFile } from 'node:fs/promises';
import type { JsonlRecord, TwoWayRecord, VqaAnnotationFile, VqaRecord } from './export.js';

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

function fields(file: string, where: string, v: Json, spec: Record<string, 'string' | 'number' | 'string[]' | 'optional string[]'>): void {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error(`${file}: ${where} is not an object`);
  for (const [k, t] of Object.entries(spec)) {
    const x = v[k];
    const ok =
      t === 'string' ? typeof x === 'string'
      : t === 'number' ? typeof x === 'number'
      : t === 'string[]' ? Array.isArray(x) && x.every((s) => typeof s === 'string')
      : x === undefined || (Array.isArray(x) && x.every((s) => typeof s === 'string'));
    if (!ok) throw new Error(`${file}: ${where} field '${k}' should be ${t}, got ${JSON.stringify(x)}`);
  }
}

async function jsonLines(file: string): Promise<Json[]> {
  const text = await readFile(file, 'utf8');
  return text.split('\n').flatMap((line, i) => {
    if (!line.trim()) return [];
    try {
      return [JSON.parse(line) as Json];
    } catch (e) {
      throw new Error(`${file}: line ${i + 1} is not JSON (${(e as Error).message})`);
    }
  });
}

export async function readJsonlDataset(file: string): Promise<JsonlRecord[]> {
  const rows = await jsonLines(file);
  rows.forEach((r, i) => fields(file, `line ${i + 1}`, r, { id: 'string', image: 'string', question: 'string', answer: 'string', answers: 'optional string[]', options: 'optional string[]' }));
  return rows as unknown as JsonlRecord[];
}

export async function readTwoWayJson(file: string): Promise<TwoWayRecord[]> {
  const list = JSON.parse(await readFile(file, 'utf8')) as Json;
  if (!Array.isArray(list)) throw new Error(`${file}: expected a JSON list of {pos, neg, query, pos_label, neg_label}`);
  list.forEach((r, i) => fields(file, `item ${i}`, r, { pos: 'string', neg: 'string', query: 'string', pos_label: 'string', neg_label: 'string' }));
  return list as unknown as TwoWayRecord[];
}

export async function readVqaDataset(jsonlFile: string, annotationsFile: string): Promise<{ questions: VqaRecord[]; annotations: VqaAnnotationFile }> {
  const questions = await jsonLines(jsonlFile);
  questions.forEach((r, i) => fields(jsonlFile, `line ${i + 1}`, r, { image: 'string', question: 'string', answer: 'string', question_id: 'number' }));
  const ann = JSON.parse(await readFile(annotationsFile, 'utf8')) as Json;
  if (typeof ann !== 'object' || ann === null || Array.isArray(ann) || !Array.isArray(ann.annotations)) throw new Error(`${annotationsFile}: expected {annotations: [...]}`);
  ann.annotations.forEach((a, i) => {
    fields(annotationsFile, `annotation ${i}`, a, { question_id: 'number' });
    const answers = (a as { answers?: Json }).answers;
    if (!Array.isArray(answers) || answers.some((x) => typeof x !== 'object' || x === null || Array.isArray(x) || typeof x.answer !== 'string')) {
      throw new Error(`${annotationsFile}: annotation ${i} needs answers: [{answer: string}, ...]`);
    }
  });
  return { questions: questions as unknown as VqaRecord[], annotations: ann as unknown as VqaAnnotationFile };
}
