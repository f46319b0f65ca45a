// preprocessor_config.json of CLIPImageProcessor and SiglipImageProcessor, validated, with every default
// filled in (defaults are those of the transformers classes; VLM_FORMATS.md 5.1).
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ImageError } from './errors.js';
import { PIL_RESAMPLE, type ResampleFilter } from './types.js';

export type ImageProcessorKind = 'clip' | 'siglip';

/** CLIP: scale so the shorter side is `shortestEdge`, long side `floor(shortestEdge * long / short)`. SigLIP: exact size. */
export type ResizeSpec = { mode: 'shortest_edge'; shortestEdge: number } | { mode: 'exact'; height: number; width: number };

export interface PreprocessorConfig {
  /** The file or description it was read from, named in errors. */
  source: string;
  /** image_processor_type (or legacy feature_extractor_type) as written. */
  processorType: string;
  kind: ImageProcessorKind;
  doResize: boolean;
  size: ResizeSpec;
  resample: ResampleFilter;
  doCenterCrop: boolean;
  cropSize: { height: number; width: number };
  doRescale: boolean;
  rescaleFactor: number;
  doNormalize: boolean;
  imageMean: [number, number, number];
  imageStd: [number, number, number];
}

export const OPENAI_CLIP_MEAN: [number, number, number] = [0.48145466, 0.4578275, 0.40821073];
export const OPENAI_CLIP_STD: [number, number, number] = [0.26862954, 0.26130258, 0.27577711];
export const IMAGENET_STANDARD_MEAN: [number, number, number] = [0.5, 0.5, 0.5];
export const IMAGENET_STANDARD_STD: [number, number, number] = [0.5, 0.5, 0.5];

const KINDS: [RegExp, ImageProcessorKind][] = [
  [/^CLIP(ImageProcessor|FeatureExtractor)(Fast)?$/, 'clip'],
  [/^Siglip(ImageProcessor)(Fast)?$/, 'siglip'],
];

type Raw = Record<string, unknown>;

function fail(source: string, message: string): never {
  throw new ImageError(source, message);
}

const isPosInt = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v > 0;

function bool(raw: Raw, key: string, dflt: boolean, source: string): boolean {
  const v = raw[key];
  if (v === undefined || v === null) return dflt;
  if (typeof v !== 'boolean') fail(source, `${key} must be true or false, got ${JSON.stringify(v)}`);
  return v;
}

/** A size field as (height, width): an int (square), [h, w], or {height, width}. */
function heightWidth(v: unknown, key: string, source: string): { height: number; width: number } {
  if (isPosInt(v)) return { height: v, width: v };
  if (Array.isArray(v) && v.length === 2 && v.every(isPosInt)) return { height: v[0], width: v[1] };
  if (typeof v === 'object' && v !== null && isPosInt((v as Raw).height) && isPosInt((v as Raw).width)) {
    return { height: (v as Raw).height as number, width: (v as Raw).width as number };
  }
  return fail(source, `${key} must be a positive int, [height, width] or {height, width}; got ${JSON.stringify(v)}`);
}

function resizeSpec(v: unknown, kind: ImageProcessorKind, source: string): ResizeSpec {
  if (v === undefined || v === null) return kind === 'clip' ? { mode: 'shortest_edge', shortestEdge: 224 } : { mode: 'exact', height: 224, width: 224 };
  // CLIP reads a bare int as the shortest edge (get_size_dict(default_to_square=False)); for SigLIP it is a square.
  if (isPosInt(v) && kind === 'clip') return { mode: 'shortest_edge', shortestEdge: v };
  if (typeof v === 'object' && v !== null && !Array.isArray(v) && 'shortest_edge' in v) {
    const s = (v as Raw).shortest_edge;
    if (!isPosInt(s)) fail(source, `size.shortest_edge must be a positive int, got ${JSON.stringify(s)}`);
    if (kind === 'siglip') fail(source, 'SiglipImageProcessor needs size {height, width}, not shortest_edge');
    return { mode: 'shortest_edge', shortestEdge: s };
  }
  return { mode: 'exact', ...heightWidth(v, 'size', source) };
}

function triple(v: unknown, key: string, dflt: [number, number, number], source: string): [number, number, number] {
  if (v === undefined || v === null) return dflt;
  const ok = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x);
  if (ok(v)) return [v, v, v];
  if (Array.isArray(v) && v.length === 3 && v.every(ok)) return [v[0], v[1], v[2]];
  return fail(source, `${key} must be a number or 3 numbers (one per RGB channel), got ${JSON.stringify(v)}`);
}

/** Validates a parsed preprocessor_config.json and fills the processor's defaults. */
export function resolvePreprocessorConfig(raw: unknown, source = 'preprocessor config'): PreprocessorConfig {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) fail(source, 'must be a JSON object');
  const r = raw as Raw;
  const type = r.image_processor_type ?? r.feature_extractor_type;
  if (typeof type !== 'string') fail(source, 'has no image_processor_type (or feature_extractor_type)');
  const kind = KINDS.find(([re]) => re.test(type))?.[1];
  if (!kind) fail(source, `image_processor_type '${type}' is not supported (supported: CLIPImageProcessor, SiglipImageProcessor and their Fast variants)`);

  const resampleRaw = r.resample ?? 3;
  if (typeof resampleRaw !== 'number' || !Number.isInteger(resampleRaw) || resampleRaw < 0 || resampleRaw >= PIL_RESAMPLE.length) {
    fail(source, `resample must be a Pillow filter code 0..5, got ${JSON.stringify(resampleRaw)}`);
  }
  const rescaleFactor = r.rescale_factor ?? 1 / 255;
  if (typeof rescaleFactor !== 'number' || !Number.isFinite(rescaleFactor) || rescaleFactor <= 0) {
    fail(source, `rescale_factor must be a positive number, got ${JSON.stringify(rescaleFactor)}`);
  }
  const clip = kind === 'clip';
  const imageStd = triple(r.image_std, 'image_std', clip ? OPENAI_CLIP_STD : IMAGENET_STANDARD_STD, source);
  if (imageStd.some((s) => s === 0)) fail(source, `image_std ${JSON.stringify(imageStd)} has a zero`);
  return {
    source,
    processorType: type,
    kind,
    doResize: bool(r, 'do_resize', true, source),
    size: resizeSpec(r.size, kind, source),
    resample: PIL_RESAMPLE[resampleRaw],
    // SiglipImageProcessor has no centre crop step; a stray do_center_crop key is ignored as transformers does.
    doCenterCrop: clip ? bool(r, 'do_center_crop', true, source) : false,
    cropSize: clip ? heightWidth(r.crop_size ?? 224, 'crop_size', source) : { height: 0, width: 0 },
    doRescale: bool(r, 'do_rescale', true, source),
    rescaleFactor,
    doNormalize: bool(r, 'do_normalize', true, source),
    imageMean: triple(r.image_mean, 'image_mean', clip ? OPENAI_CLIP_MEAN : IMAGENET_STANDARD_MEAN, source),
    imageStd,
  };
}

/** Reads and validates `dir/preprocessor_config.json`. */
export async function loadPreprocessorConfig(dir: string): Promise<PreprocessorConfig> {
  const file = join(dir, 'preprocessor_config.json');
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new ImageError(file, code === 'ENOENT' ? 'not found' : `cannot read: ${(e as Error).message}`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new ImageError(file, `is not valid JSON: ${(e as Error).message}`);
  }
  return resolvePreprocessorConfig(raw, file);
}
