// Decoding JPEG / PNG / WebP (and GIF, TIFF) to 8-bit RGB with sharp, the way transformers' load_image +
// convert_to_rgb prepare an image: EXIF orientation applied, greyscale and palette expanded to RGB,
// alpha dropped (PIL's convert('RGB') discards alpha rather than compositing it), 16-bit reduced to 8-bit.
import { readFile } from 'node:fs/promises';
import sharp from 'sharp';
import { ImageError } from './errors.js';
import type { RgbImage } from './types.js';

export const DECODABLE_FORMATS: readonly string[] = ['jpeg', 'png', 'webp', 'gif', 'tiff'];

export interface DecodeImageOptions {
  /** Name used in errors for a buffer input (a path input is named by its path). */
  source?: string;
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

  let format: string | undefined;
  try {
    format = (await sharp(bytes).metadata()).format;
  } catch (e) {
    throw new ImageError(source, `not a decodable image: ${(e as Error).message}`);
  }
  if (format === undefined || !DECODABLE_FORMATS.includes(format)) {
    throw new ImageError(source, `format '${format ?? 'unknown'}' is not accepted (accepted: ${DECODABLE_FORMATS.join(', ')})`);
  }
  try {
    const { data, info } = await sharp(bytes)
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
