// The official VQA annotation JSON (VQA v2 / OK-VQA: {"annotations": [...]}, or a bare list as in
// converted VizWiz files): question_id -> annotator answers, question type, answer type.
import { readJsonFile } from '@mtv/model';
import type { AnswerRecord } from '../metrics/vqa.js';
import type { VqaAnnotation } from '../metrics/vqa-score.js';
import { DatasetError } from './types.js';

export async function loadVqaAnnotations(file: string): Promise<Map<string, VqaAnnotation>> {
  const json = await readJsonFile(file, (why) => new DatasetError(file, `cannot read annotation JSON: ${why}`));
  return parseVqaAnnotations(file, json);
}

export function parseVqaAnnotations(file: string, json: unknown): Map<string, VqaAnnotation> {
  const list = Array.isArray(json) ? json : (json as { annotations?: unknown } | null)?.annotations;
  if (!Array.isArray(list)) throw new DatasetError(file, "annotation JSON must be a list or an object with an 'annotations' list");
  const out = new Map<string, VqaAnnotation>();
  list.forEach((raw, i) => {
    const a = raw as Record<string, unknown>;
    const qid = a?.question_id ?? a?.image; // converted VizWiz files key by question_id; the raw release by image
    if (typeof qid !== 'string' && typeof qid !== 'number') throw new DatasetError(file, `annotation ${i}: no 'question_id' (or 'image')`);
    if (!Array.isArray(a.answers) || a.answers.length === 0) throw new DatasetError(file, `annotation ${i} (question ${qid}): 'answers' must be a non-empty list`);
    const answers: AnswerRecord[] = a.answers.map((x: unknown, j: number) => {
      const r = x as Record<string, unknown>;
      if (typeof r?.answer !== 'string') throw new DatasetError(file, `annotation ${i} (question ${qid}): answers[${j}].answer is not a string`);
      return {
        answer: r.answer,
        ...(typeof r.answer_confidence === 'string' ? { answer_confidence: r.answer_confidence } : {}),
        ...(typeof r.answer_id === 'number' ? { answer_id: r.answer_id } : {}),
      };
    });
    const id = String(qid);
    if (out.has(id)) throw new DatasetError(file, `annotation ${i}: duplicate question_id ${id}`);
    out.set(id, {
      questionId: id,
      answers,
      ...(typeof a.question_type === 'string' ? { questionType: a.question_type } : {}),
      ...(typeof a.answer_type === 'string' ? { answerType: a.answer_type } : {}),
    });
  });
  return out;
}

/**
 * Refuses an annotation file that does not cover the evaluated examples' question ids (the first `n`,
 * default all): the error names the first missing ids and how many are missing.
 */
export function checkAnnotationCoverage(
  data: { readonly examples: readonly object[] }, annotations: ReadonlyMap<string, VqaAnnotation>, file: string, n?: number,
): void {
  const ids = data.examples.slice(0, n ?? data.examples.length).flatMap((e) => {
    const q = (e as { questionId?: unknown }).questionId;
    return typeof q === 'string' ? [q] : [];
  });
  const missing = ids.filter((id) => !annotations.has(id));
  if (missing.length > 0) {
    throw new DatasetError(file, `annotations do not cover ${missing.length} of the ${ids.length} evaluated question ids (first missing: ${missing.slice(0, 5).join(', ')})`);
  }
}
