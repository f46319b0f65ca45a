// The unified example type every loader produces.

/** Question answering (generic JSONL, VizWiz, OK-VQA), optionally multiple choice. */
export interface QaExample {
  readonly kind: 'qa';
  /** Stable id: the record's `id`, else `question_id`, else the 0-based line index. */
  readonly id: string;
  /** Absolute image paths, resolved inside the data root, in prompt order. */
  readonly images: readonly string[];
  readonly question: string;
  /** The target answer (the first one when the record gives a list). */
  readonly answer: string;
  /** All annotators' answers, when known (generic JSONL `answers`). */
  readonly answers?: readonly string[];
  /** Multiple-choice labels in prompt order (letters A, B, ...). */
  readonly options?: readonly string[];
  /** The official question id (VizWiz/OK-VQA), for joining with the annotation JSON. */
  readonly questionId?: string;
}

/** The reference repo's 2-way classification item (Flowers/CUB/DTD): one example per class, then a query of the positive class. */
export interface TwoWayExample {
  readonly kind: 'two-way';
  readonly id: string;
  /** [pos, neg, query], absolute. */
  readonly images: readonly [string, string, string];
  readonly posLabel: string;
  readonly negLabel: string;
}

export type Example = QaExample | TwoWayExample;

export const DATASET_FORMATS = ['jsonl', 'vizwiz', 'okvqa', 'flower', 'cub', 'dtd'] as const;
export type DatasetFormat = (typeof DATASET_FORMATS)[number];
export const isDatasetFormat = (s: string): s is DatasetFormat => (DATASET_FORMATS as readonly string[]).includes(s);

export interface ImageProblem {
  readonly exampleId: string;
  readonly path: string;
  readonly reason: string;
}

export interface Dataset {
  readonly format: DatasetFormat;
  readonly file: string;
  /** Absolute data root every image path resolves inside. */
  readonly root: string;
  readonly examples: readonly Example[];
  /** Examples dropped by `onBadImage: 'skip'`, with the reason. */
  readonly skipped: readonly ImageProblem[];
  /** sha256 (hex) of the canonical example list; see datasetHash. */
  readonly hash: string;
}

export class DatasetError extends Error {
  constructor(readonly file: string, message: string) {
    super(`${file}: ${message}`);
    this.name = 'DatasetError';
  }
}
