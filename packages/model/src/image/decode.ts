// Decoding JPEG / PNG / WebP (and GIF, TIFF) to 8-bit RGB with sharp, bit-exactly as transformers'
// load_image does it with Pillow (Image.open + exif_transpose + convert('RGB'); checked against Pillow
// 9.4 in test/image-icc.test.ts):
// - no colour management: an embedded ICC profile (Display-P3 from phones, a CMYK press profile) is
//   ignored, the raw samples are the RGB values;
// - CMYK JPEG: Pillow reads the samples as Adobe-inverted ('CMYK;I') whether or not the file has an
//   Adobe APP14 marker, and so does libvips (jpeg2vips inverts every CMYK JPEG); then Pillow's naive
//   CMYK -> RGB (no profile): v' = (255 - k) - v * (255 - k) / 255, rounded as Pillow's MULDIV255;
// - greyscale and palette expanded to RGB; alpha dropped (convert('RGB') discards it, no compositing);
// - 16-bit RGB / RGBA / grey+alpha PNG: the high byte of each sample (Pillow's 'RGB;16B' unpacking);
// - 16-bit greyscale PNG without an alpha channel (colour type 0, with or without tRNS): Pillow opens it
//   as mode 'I' (32-bit integers), and convert('RGB') clamps each value to 0..255 (so most of a 16-bit
//   grey image is white): matched, not "fixed". (16-bit TIFFs keep the high byte; not checked.)
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
  return (await readHeader(input, source, limit)).header;
}

/** checkHeader, with the colour space ('srgb', 'cmyk', 'grey16', ...) sharp reports. */
async function readHeader(input: Uint8Array | string, source: string, limit: number): Promise<{ header: ImageHeader; space: string }> {
  let format: string | undefined;
  let width = 0;
  let height = 0;
  let space = '';
  try {
    // Reads the header only: the dimensions are known before any pixel is decoded.
    const meta = await sharp(input, { limitInputPixels: false }).metadata();
    format = meta.format;
    width = meta.width ?? 0;
    height = meta.pageHeight ?? meta.height ?? 0;
    space = meta.space ?? '';
  } catch (e) {
    throw new ImageError(source, `not a decodable image: ${(e as Error).message}`);
  }
  if (format === undefined || !DECODABLE_FORMATS.includes(format)) {
    throw new ImageError(source, `format '${format ?? 'unknown'}' is not accepted (accepted: ${DECODABLE_FORMATS.join(', ')})`);
  }
  if (width * height > limit) {
    throw new ImageError(source, `${width} x ${height} = ${width * height} pixels exceeds the limit of ${limit} (refused before decoding, a possible decompression bomb; raise it with --max-image-pixels or ${MAX_IMAGE_PIXELS_ENV})`);
  }
  return { header: { format, width, height }, space };
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
  const { header: { format }, space } = await readHeader(bytes, source, limit);
  try {
    // ignoreIcc: no profile transform (sharp's default converts an embedded profile to sRGB); rotate():
    // EXIF orientation, like PIL.ImageOps.exif_transpose in transformers.load_image.
    const input = (): sharp.Sharp => sharp(bytes, { limitInputPixels: limit, ignoreIcc: true }).rotate();
    if (space === 'cmyk') {
      // The CMYK samples themselves (the 'cmyk' pipeline skips sharp's CMYK -> sRGB profile transform).
      const { data, info } = await input().pipelineColourspace('cmyk').toColourspace('cmyk').removeAlpha().raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
      if (info.channels !== 4) throw new Error(`decoder produced ${info.channels} CMYK channels, expected 4`);
      return { width: info.width, height: info.height, data: cmykToRgb(data), source };
    }
    if (format === 'png' && isGrey16Png(bytes)) {
      // Also with a tRNS transparent grey (which libvips turns into an alpha band): Pillow still opens mode 'I'.
      const { data, info } = await input().removeAlpha().toColourspace('grey16').raw({ depth: 'ushort' }).toBuffer({ resolveWithObject: true });
      if (info.channels !== 1) throw new Error(`decoder produced ${info.channels} channels, expected 1`);
      const grey = new Uint16Array(data.buffer, data.byteOffset, data.byteLength / 2);
      const rgb = new Uint8Array(grey.length * 3);
      for (let i = 0; i < grey.length; i++) rgb[3 * i] = rgb[3 * i + 1] = rgb[3 * i + 2] = Math.min(grey[i]!, 255); // Pillow's I -> RGB clamp
      return { width: info.width, height: info.height, data: rgb, source };
    }
    const { data, info } = await input()
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

/**
 * Pillow's CMYK -> RGB (Convert.c cmyk2rgb), no colour management: v' = nk - MULDIV255(v, nk) with
 * nk = 255 - k, where MULDIV255(a, b) = ((t >> 8) + t) >> 8, t = a * b + 128.
 */
export function cmykToRgb(cmyk: Uint8Array): Uint8Array {
  const n = cmyk.length / 4;
  const rgb = new Uint8Array(n * 3);
  for (let i = 0; i < n; i++) {
    const nk = 255 - cmyk[4 * i + 3]!;
    for (let c = 0; c < 3; c++) {
      const t = cmyk[4 * i + c]! * nk + 128;
      rgb[3 * i + c] = nk - (((t >> 8) + t) >> 8);
    }
  }
  return rgb;
}

/** A PNG whose IHDR says 16-bit greyscale without alpha (bit depth 16, colour type 0). */
function isGrey16Png(png: Uint8Array): boolean {
  return png.length >= 26 && String.fromCharCode(...png.subarray(12, 16)) === 'IHDR' && png[24] === 16 && png[25] === 0;
}
