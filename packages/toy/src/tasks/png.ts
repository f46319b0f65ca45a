// PNG encoding/decoding of toy images through sharp (libvips), for the file-based loaders.
import sharp from 'sharp';

export interface RawRgb {
  width: number;
  height: number;
  data: Uint8Array;
}

export async function encodePng(img: RawRgb): Promise<Buffer> {
  if (img.data.length !== img.width * img.height * 3) {
    throw new RangeError(`encodePng: ${img.width}x${img.height} RGB needs ${img.width * img.height * 3} bytes, got ${img.data.length}`);
  }
  // Fixed settings so the same pixels always give the same bytes.
  return sharp(Buffer.from(img.data.buffer, img.data.byteOffset, img.data.byteLength), { raw: { width: img.width, height: img.height, channels: 3 } })
    .png({ compressionLevel: 9, adaptiveFiltering: false, palette: false })
    .toBuffer();
}

/** Decode any image sharp reads into raw RGB (alpha dropped). */
export async function decodeRgb(file: string | Buffer): Promise<RawRgb> {
  const { data, info } = await sharp(file).removeAlpha().toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
  if (info.channels !== 3) throw new Error(`decodeRgb: ${typeof file === 'string' ? file : 'buffer'} decoded to ${info.channels} channels, expected 3`);
  return { width: info.width, height: info.height, data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) };
}
