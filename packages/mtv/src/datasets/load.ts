// Dataset loading: parse, resolve image paths inside the data root, check the images, hash.
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { datasetHash } from './hash.js';
import { parseDatasetText } from './parse.js';
import { realRoot, resolveInRoot } from './paths.js';
import { DATASET_FORMATS, DatasetError, isDatasetFormat, type Dataset, type Example, type ImageProblem } from './types.js';

/**
 * Decodes an image file (throws on an undecodable one). @mtv/model's decodeImage fits; the loader only
 * needs it to throw or not.
 */
export type ImageDecoder = (absPath: string) => Promise<unknown>;

export interface LoadDatasetOptions {
  readonly file: string;
  /** One of DATASET_FORMATS. */
  readonly format: string;
  /** Directory every image path resolves inside (default: the file's directory). */
  readonly root?: string;
  /** What a missing or undecodable image does: drop its example ('skip') or abort ('fail', default). */
  readonly onBadImage?: 'skip' | 'fail';
  /** 'exists' (default): a readable regular file; 'decode': also decodes it with `decoder`; 'none'. */
  readonly checkImages?: 'none' | 'exists' | 'decode';
  readonly decoder?: ImageDecoder;
  /** Called for every bad image (also when skipping). */
  readonly onProblem?: (p: ImageProblem) => void;
}

async function imageProblem(abs: string, check: 'exists' | 'decode', decoder: ImageDecoder | undefined): Promise<string | null> {
  try {
    const s = await stat(abs);
    if (!s.isFile()) return 'not a regular file';
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'file not found' : `cannot stat: ${(e as Error).message}`;
  }
  if (check === 'decode') {
    try {
      await decoder!(abs);
    } catch (e) {
      return `cannot decode: ${(e as Error).message}`;
    }
  }
  return null;
}

export async function loadDataset(opts: LoadDatasetOptions): Promise<Dataset> {
  const file = path.resolve(opts.file);
  if (!isDatasetFormat(opts.format)) throw new DatasetError(file, `unknown dataset format ${JSON.stringify(opts.format)}; known formats: ${DATASET_FORMATS.join(', ')}`);
  const format = opts.format;
  const check = opts.checkImages ?? 'exists';
  if (check === 'decode' && !opts.decoder) throw new DatasetError(file, "checkImages: 'decode' needs a decoder (e.g. decodeImage from @mtv/model)");
  const root = realRoot(opts.root ?? path.dirname(file));
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    throw new DatasetError(file, `cannot read dataset file: ${(e as Error).message}`);
  }
  const parsed = parseDatasetText(file, format, text, (p) => {
    try {
      return resolveInRoot(root, p);
    } catch (e) {
      throw new DatasetError(file, (e as Error).message);
    }
  });
  if (parsed.length === 0) throw new DatasetError(file, `dataset is empty (format '${format}')`);
  const ids = new Set<string>();
  for (const e of parsed) {
    if (ids.has(e.id)) throw new DatasetError(file, `duplicate example id ${JSON.stringify(e.id)}`);
    ids.add(e.id);
  }

  const examples: Example[] = [];
  const skipped: ImageProblem[] = [];
  for (const e of parsed) {
    let bad: ImageProblem | null = null;
    if (check !== 'none') {
      for (const img of e.images) {
        const reason = await imageProblem(img, check, opts.decoder);
        if (reason !== null) {
          bad = { exampleId: e.id, path: img, reason };
          break;
        }
      }
    }
    if (bad === null) {
      examples.push(e);
      continue;
    }
    opts.onProblem?.(bad);
    if ((opts.onBadImage ?? 'fail') === 'fail') throw new DatasetError(file, `example ${JSON.stringify(bad.exampleId)}: image ${bad.path}: ${bad.reason}`);
    skipped.push(bad);
  }
  if (examples.length === 0) throw new DatasetError(file, `every one of the ${parsed.length} examples was skipped for bad images (first: ${skipped[0].path}: ${skipped[0].reason})`);
  return { format, file, root, examples, skipped, hash: datasetHash(format, root, examples) };
}
