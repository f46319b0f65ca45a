// Decoding JPEG / PNG / WebP (and GIF, TIFF) to 8-bit RGB with sharp, the way transformers' load_image +
// convert_to_rgb prepare an image: EXIF orientation applied, greyscale and palette expanded to RGB,
// alpha dropped (PIL's convert('RGB') discards alpha rather than compositing it), 16-bit reduced to 8-bit.
import { readFile, stat } from 'node:fs/promises';
import sharp from 'sharp';
import { ImageError } from './errors.js';
import type { RgbImage } from './types.js';
import type { PreprocessorConfig } from './config.js';

export const DECODABLE_FORMATS: readonly string[] = ['jpeg', 'png', 'webp', 'gif', 'tiff'];

/** Pillow's Image.MAX_IMAGE_PIXELS (1024 * 1024 * 1024 // 4 // 3): the default and the usual ceiling of the pixel limit. */
export const MAX_IMAGE_PIXELS = 89_478_485;
export const MAX_IMAGE_PIXELS_ENV = 'MTV_MAX_IMAGE_PIXELS';

export interface DecodeImageOptions {
  /** Name used in errors for a buffer input (a path input is named by its path). */
  source?: string;
  /**
   * Largest width x height decoded; larger images are refused from their header, before any pixel is
   * decoded (a decompression bomb: a 746 KB PNG can hold 16000 x 16000 pixels). Default: the
   * MTV_MAX_IMAGE_PIXELS environment variable, else `processorLimit`, else MAX_IMAGE_PIXELS.
   */
  maxPixels?: number;
  /** The limit a model's processor implies (processorPixelLimit), used when neither maxPixels nor the variable is set. */
  processorLimit?: number;
}

/**
 * What a processor can use: it resizes every image to about its own input size, so an image over 4096
 * times that area (64 times each side) carries nothing it needs. Capped at MAX_IMAGE_PIXELS, which it
 * equals for every real processor (224 x 224 x 4096 = 205 M); only toy models get a lower limit.
 */
export function processorPixelLimit(pp: PreprocessorConfig): number {
  const area = pp.doCenterCrop
    ? pp.cropSize.height * pp.cropSize.width
    : pp.size.mode === 'exact' ? pp.size.height * pp.size.width : pp.size.shortestEdge * pp.size.shortestEdge;
  return Math.min(MAX_IMAGE_PIXELS, Math.max(1, area) * 4096);
}

/**
 * The pixel limit in effect: `explicit`, else $MTV_MAX_IMAGE_PIXELS (either may exceed the ceiling:
 * the user asked), else `fallback` (a processor's limit), else Pillow's MAX_IMAGE_PIXELS.
 */
export function maxImagePixels(explicit?: number, fallback = MAX_IMAGE_PIXELS): number {
  if (explicit !== undefined) {
    if (!Number.isSafeInteger(explicit) || explicit < 1) throw new Error(`maxPixels: expected a positive integer, got ${explicit}`);
    return explicit;
  }
  const env = process.env[MAX_IMAGE_PIXELS_ENV];
  if (env === undefined || env === '') return Math.min(fallback, MAX_IMAGE_PIXELS);
  const n = Number(env);
  if (!Number.isSafeInteger(n) || n < 1) throw new Error(`${MAX_IMAGE_PIXELS_ENV}=${env}: expected a positive integer (pixels, width x height)`);
  return n;
}

/** Format and size from the header (no pixel decoded), checked against the accepted formats and `limit`. */
async function checkHeader(input: Uint8Array | string, source: string, limit: number): Promise<ImageHeader> {
  let format: string | undefined;
  let width = 0;
  let height = 0;
  try {
    // Reads the header only: the dimensions are known before any pixel is decoded.
    const meta = await sharp(input, { limitInputPixels: false }).metadata();
    format = meta.format;
    width = meta.width ?? 0;
    height = meta.pageHeight ?? meta.height ?? 0;
  } catch (e) {
    throw new ImageError(source, `not a decodable image: ${(e as Error).message}`);
  }
  if (format === undefined || !DECODABLE_FORMATS.includes(format)) {
    throw new ImageError(source, `format '${format ?? 'unknown'}' is not accepted (accepted: ${DECODABLE_FORMATS.join(', ')})`);
  }
  if (width * height > limit) {
    throw new ImageError(source, `${width} x ${height} = ${width * height} pixels exceeds the limit of ${limit} (refused before decoding, a possible decompression bomb; raise it with --max-image-pixels or ${MAX_IMAGE_PIXELS_ENV})`);
  }
  return { format, width, height };
}

export interface ImageHeader {
  format: string;
  width: number;
  height: number;
}

/**
 * Reads only an image file's header: its format and size, refused like decodeImage refuses them
 * (unaccepted format, over the pixel limit). A cheap check of a whole dataset before any work; a file
 * whose pixel data is corrupt past the header still passes.
 */
export async function probeImage(file: string, options: Omit<DecodeImageOptions, 'source'> & { source?: string } = {}): Promise<ImageHeader> {
  const source = options.source ?? file;
  try {
    const { size } = await stat(file);
    if (size === 0) throw new ImageError(source, 'is empty (0 bytes)');
  } catch (e) {
    if (e instanceof ImageError) throw e;
    throw new ImageError(source, `cannot read file: ${(e as Error).message}`);
  }
  return checkHeader(file, source, maxImagePixels(options.maxPixels, options.processorLimit));
}

/** Decodes an encoded image given as bytes or as a file path. Errors name the source and the reason. */
export async function decodeImage(input: Uint8Array | string, options: DecodeImageOptions = {}): Promise<RgbImage> {
  let bytes: Uint8Array;
  let source: string;
  if (typeof input === 'string') {
    source = options.source ?? input;
    try {
      bytes = await readFile(input);
    } catch (e) {
      throw new ImageError(source, `cannot read file: ${(e as Error).message}`);
    }
  } else {
    bytes = input;
    source = options.source ?? `buffer of ${input.length} bytes`;
  }
  if (bytes.length === 0) throw new ImageError(source, 'is empty (0 bytes)');

  const limit = maxImagePixels(options.maxPixels, options.processorLimit);
  const { format } = await checkHeader(bytes, source, limit);
  try {
    const { data, info } = await sharp(bytes, { limitInputPixels: limit })
      .rotate() // apply EXIF orientation, like PIL.ImageOps.exif_transpose in transformers.load_image
      .toColourspace('srgb')
      .removeAlpha()
      .raw({ depth: 'uchar' })
      .toBuffer({ resolveWithObject: true });
    if (info.channels !== 3) throw new Error(`decoder produced ${info.channels} channels, expected 3`);
    return { width: info.width, height: info.height, data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength), source };
  } catch (e) {
    throw new ImageError(source, `cannot decode ${format} data: ${(e as Error).message}`);
  }
}
