// The same resize done by libvips through sharp: 5-30x faster than the JS Pillow port on photos, but
// not bit-identical to Pillow (own fixed-point reduce; box pre-shrink on large reductions; a different
// sample-centre convention when enlarging). Measured against the Pillow port, bicubic, smooth+noise images:
//   downscaling (640x480->448x336, 1600x1200->448x336, 1024x768->384x384): max 2 levels, mean 0.17-0.26
//   upscaling (200x150->336x252): max 24 levels, mean 4.4 -- do not use sharp when images get enlarged.
import sharp from 'sharp';
import { ImageError } from './errors.js';
import type { ResampleFilter, RgbImage } from './types.js';

const SHARP_KERNEL: Partial<Record<ResampleFilter, keyof sharp.KernelEnum>> = {
  nearest: 'nearest',
  bilinear: 'linear',
  bicubic: 'cubic', // Catmull-Rom, the same kernel as Pillow's BICUBIC
  lanczos: 'lanczos3',
};

export async function sharpResize(img: RgbImage, width: number, height: number, filter: ResampleFilter): Promise<RgbImage> {
  const kernel = SHARP_KERNEL[filter];
  if (!kernel) throw new ImageError(img.source, `resample filter '${filter}' has no sharp equivalent (have: ${Object.keys(SHARP_KERNEL).join(', ')})`);
  if (width === img.width && height === img.height) return { ...img, data: new Uint8Array(img.data) };
  try {
    const { data, info } = await sharp(img.data, { raw: { width: img.width, height: img.height, channels: 3 } })
      .resize({ width, height, fit: 'fill', kernel })
      .raw()
      .toBuffer({ resolveWithObject: true });
    if (info.width !== width || info.height !== height || info.channels !== 3) {
      throw new Error(`sharp returned ${info.width}x${info.height}x${info.channels}`);
    }
    return { width, height, data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength), source: img.source };
  } catch (e) {
    throw new ImageError(img.source, `sharp resize ${img.width}x${img.height} -> ${width}x${height} failed: ${(e as Error).message}`);
  }
}
