// Record -> Example for each format. Paths are resolved by the caller-provided `resolve`.
import { DatasetError, type DatasetFormat, type Example, type QaExample, type TwoWayExample } from './types.js';

type Json = Record<string, unknown>;
type Resolve = (p: string) => string;

const str = (file: string, where: string, rec: Json, key: string): string => {
  const v = rec[key];
  if (typeof v !== 'string') throw new DatasetError(file, `${where}: field '${key}' must be a string (got ${v === undefined ? 'nothing' : JSON.stringify(v)})`);
  return v;
};

const strList = (file: string, where: string, v: unknown, key: string): string[] => {
  if (!Array.isArray(v) || v.length === 0 || !v.every((x) => typeof x === 'string')) {
    throw new DatasetError(file, `${where}: field '${key}' must be a non-empty list of strings (got ${JSON.stringify(v)})`);
  }
  return v as string[];
};

const idOf = (v: unknown): string | undefined => (typeof v === 'string' || typeof v === 'number' ? String(v) : undefined);

/** VizWiz / OK-VQA lines: {image, question, answer (string or list), question_id}. */
function parseVqaLine(file: string, where: string, rec: Json, index: number, resolve: Resolve): QaExample {
  const questionId = idOf(rec.question_id);
  if (questionId === undefined) throw new DatasetError(file, `${where}: field 'question_id' must be a string or number`);
  const answers = typeof rec.answer === 'string' ? [rec.answer] : strList(file, where, rec.answer, 'answer');
  return {
    kind: 'qa',
    id: questionId ?? String(index),
    images: [resolve(str(file, where, rec, 'image'))],
    question: str(file, where, rec, 'question'),
    answer: answers[0],
    ...(answers.length > 1 ? { answers } : {}),
    questionId,
  };
}

/** Generic lines: {id?, image | images, question, answer, answers?, options?, question_id?}. */
function parseGenericLine(file: string, where: string, rec: Json, index: number, resolve: Resolve): QaExample {
  if (rec.image !== undefined && rec.images !== undefined) throw new DatasetError(file, `${where}: give 'image' or 'images', not both`);
  const rawImages = rec.images !== undefined ? strList(file, where, rec.images, 'images') : [str(file, where, rec, 'image')];
  const answers = rec.answers !== undefined ? strList(file, where, rec.answers, 'answers') : undefined;
  const answer = rec.answer !== undefined ? str(file, where, rec, 'answer') : answers?.[0];
  if (answer === undefined) throw new DatasetError(file, `${where}: needs 'answer' (or a non-empty 'answers')`);
  let options: string[] | undefined;
  if (rec.options !== undefined) {
    options = strList(file, where, rec.options, 'options');
    if (options.length > 26) throw new DatasetError(file, `${where}: ${options.length} options, at most 26 (A..Z)`);
    const isLetter = /^[A-Z]$/.test(answer) && answer.charCodeAt(0) - 65 < options.length;
    if (!isLetter && !options.includes(answer)) {
      throw new DatasetError(file, `${where}: answer ${JSON.stringify(answer)} is neither an option letter A..${String.fromCharCode(64 + options.length)} nor one of the options ${JSON.stringify(options)}`);
    }
  }
  const questionId = idOf(rec.question_id);
  return {
    kind: 'qa',
    id: idOf(rec.id) ?? questionId ?? String(index),
    images: rawImages.map(resolve),
    question: str(file, where, rec, 'question'),
    answer,
    ...(answers ? { answers } : {}),
    ...(options ? { options } : {}),
    ...(questionId !== undefined ? { questionId } : {}),
  };
}

/** The reference 2-way items: {pos, neg, query, pos_label, neg_label}. */
function parseTwoWay(file: string, where: string, rec: Json, index: number, resolve: Resolve): TwoWayExample {
  return {
    kind: 'two-way',
    id: String(index),
    images: [resolve(str(file, where, rec, 'pos')), resolve(str(file, where, rec, 'neg')), resolve(str(file, where, rec, 'query'))],
    posLabel: str(file, where, rec, 'pos_label'),
    negLabel: str(file, where, rec, 'neg_label'),
  };
}

const asRecord = (file: string, where: string, v: unknown): Json => {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new DatasetError(file, `${where}: expected a JSON object, got ${Array.isArray(v) ? 'an array' : JSON.stringify(v)}`);
  return v as Json;
};

/** Parses a whole file's text. `resolve` maps a raw image path to an absolute path (and may throw). */
export function parseDatasetText(file: string, format: DatasetFormat, text: string, resolve: Resolve): Example[] {
  if (format === 'flower' || format === 'cub' || format === 'dtd') {
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (e) {
      throw new DatasetError(file, `not valid JSON (format '${format}' is a JSON list of {pos, neg, query, pos_label, neg_label}): ${(e as Error).message}`);
    }
    if (!Array.isArray(json)) throw new DatasetError(file, `format '${format}' expects a JSON list of {pos, neg, query, pos_label, neg_label}, got ${typeof json}`);
    return json.map((v, i) => parseTwoWay(file, `item ${i}`, asRecord(file, `item ${i}`, v), i, resolve));
  }
  const out: Example[] = [];
  const lines = text.split('\n');
  let index = 0;
  for (let ln = 0; ln < lines.length; ln++) {
    const line = lines[ln].trim();
    if (line === '') continue;
    const where = `line ${ln + 1}`;
    let json: unknown;
    try {
      json = JSON.parse(line);
    } catch (e) {
      throw new DatasetError(file, `${where}: not valid JSON (format '${format}' is JSON Lines): ${(e as Error).message}`);
    }
    const rec = asRecord(file, where, json);
    out.push(format === 'jsonl' ? parseGenericLine(file, where, rec, index, resolve) : parseVqaLine(file, where, rec, index, resolve));
    index++;
  }
  return out;
}
