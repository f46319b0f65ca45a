// Dataset provenance hash: sha256 over a canonical JSON of the example list. Image paths enter
// relative to the data root (with '/' separators), so the hash names the data, not where it is mounted.
import { createHash } from 'node:crypto';
import path from 'node:path';
import type { DatasetFormat, Example } from './types.js';

const rel = (root: string, p: string): string => path.relative(root, p).split(path.sep).join('/');

/** Canonical form: fixed key order, absent optional fields omitted. */
export function canonicalExample(root: string, e: Example): unknown[] {
  if (e.kind === 'two-way') return ['two-way', e.id, e.images.map((p) => rel(root, p)), e.posLabel, e.negLabel];
  return ['qa', e.id, e.images.map((p) => rel(root, p)), e.question, e.answer, e.answers ?? null, e.options ?? null, e.questionId ?? null];
}

export function datasetHash(format: DatasetFormat, root: string, examples: readonly Example[]): string {
  const h = createHash('sha256');
  h.update(JSON.stringify(['mtv-dataset-v1', format]));
  for (const e of examples) h.update('\n' + JSON.stringify(canonicalExample(root, e)));
  return h.digest('hex');
}
