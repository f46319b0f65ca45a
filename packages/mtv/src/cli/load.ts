// Loading what the commands need, with the checks that turn bad input into one clear message.
import { loadModel, type VisionLanguageModel, decodeImage, probeImage, type WeightDtype } from '@mtv/model';
import { readArtifact } from '../artifact/io.js';
import type { MtvArtifact } from '../artifact/types.js';
import { loadDataset } from '../datasets/load.js';
import { DATASET_FORMATS, isDatasetFormat, type Dataset } from '../datasets/types.js';
import { loadVqaAnnotations } from '../datasets/annotations.js';
import type { VqaAnnotation } from '../metrics/vqa-score.js';
import { CliError, type CliIo } from './io.js';

export interface DataOptions {
  readonly data: string;
  readonly format: string;
  readonly root?: string;
  readonly onBadImage?: 'skip' | 'fail';
}

export async function openModel(io: CliIo, dir: string, weights: string | undefined): Promise<VisionLanguageModel> {
  if (weights !== undefined && weights !== 'f16' && weights !== 'f32') throw new CliError(`--weights must be f16 or f32, got '${weights}'`);
  return loadModel(dir, { ...(io.gpu ? { gpu: io.gpu } : {}), ...(weights ? { weightDtype: weights as WeightDtype } : {}) });
}

/** Every image path of a dataset (an output must not be one of them). */
export const imagesOf = (d: Dataset): string[] => d.examples.flatMap((e) => [...e.images]);

export async function openDataset(o: DataOptions, file = o.data): Promise<Dataset> {
  if (!isDatasetFormat(o.format)) throw new CliError(`unknown format '${o.format}'; formats: ${DATASET_FORMATS.join(', ')}`);
  // Skipping needs to know which images are bad before the run: each is decoded once here (within the
  // pixel limit, so a decompression bomb is skipped from its header). 'fail' reads every image's header
  // (format, size against the pixel limit) so a non-image or a bomb fails the command before any work;
  // pixel data corrupt past the header fails when the image is used, naming it.
  const skip = o.onBadImage === 'skip';
  const data = await loadDataset({
    file, format: o.format, ...(o.root ? { root: o.root } : {}), onBadImage: o.onBadImage ?? 'fail',
    checkImages: 'decode', decoder: skip ? (p: string) => decodeImage(p) : (p: string) => probeImage(p),
  });
  if (data.skipped.length > 0) {
    const first = data.skipped[0]!;
    process.stderr.write(`mtv: ${file}: skipped ${data.skipped.length} of ${data.skipped.length + data.examples.length} examples with bad images (--on-bad-image skip; first: ${first.path}: ${first.reason})\n`);
  }
  return data;
}

/** An artifact checked against the model it will be used with (hash and head shape). */
export async function openArtifact(file: string, model: VisionLanguageModel): Promise<MtvArtifact> {
  return readArtifact(file, { modelHash: await model.hash(), shape: model.headShape });
}

export const openAnnotations = (file: string | undefined): Promise<Map<string, VqaAnnotation>> | undefined =>
  file ? loadVqaAnnotations(file) : undefined;
