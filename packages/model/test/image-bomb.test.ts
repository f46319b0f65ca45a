// Decompression bombs (issue 11, item 7): a valid, tiny PNG of 16000 x 16000 pixels is refused from its
// header, before any pixel is decoded, above a pixel limit: Pillow's MAX_IMAGE_PIXELS by default, the
// processor's own (lower) limit for a model, or MTV_MAX_IMAGE_PIXELS / an explicit option when given.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { deflateSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { ImageError, MAX_IMAGE_PIXELS, decodeImage, maxImagePixels, probeImage, processorPixelLimit, resolvePreprocessorConfig } from '../src/image/index.js';
import { useTempDir } from './temp-dir.js';

const CRC = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();
function crc32(b: Uint8Array): number {
  let c = 0xffffffff;
  for (const x of b) c = CRC[(c ^ x) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
function chunk(type: string, data: Uint8Array): Buffer {
  const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const out = Buffer.alloc(12 + data.length);
  out.writeUInt32BE(data.length, 0);
  body.copy(out, 4);
  out.writeUInt32BE(crc32(body), 8 + data.length);
  return out;
}
/** A valid 1-bit greyscale PNG, all black: w x h pixels in a few tens of KB. */
export function blankPng(w: number, h: number): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0);
  ihdr.writeUInt32BE(h, 4);
  ihdr[8] = 1; // bit depth
  ihdr[9] = 0; // greyscale
  const raw = Buffer.alloc(h * (1 + Math.ceil(w / 8))); // filter byte 0 + zero bits per row
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr), chunk('IDAT', deflateSync(raw, { level: 9 })), chunk('IEND', new Uint8Array(0))]);
}

let dir = '';
useTempDir('mtv-bomb-', (d) => (dir = d));
const saved = process.env.MTV_MAX_IMAGE_PIXELS;
afterEach(() => {
  if (saved === undefined) delete process.env.MTV_MAX_IMAGE_PIXELS;
  else process.env.MTV_MAX_IMAGE_PIXELS = saved;
});

describe('image pixel limit', () => {
  it('refuses a valid 16000 x 16000 PNG from its header, fast and without the memory of decoding it', async () => {
    delete process.env.MTV_MAX_IMAGE_PIXELS;
    const png = blankPng(16000, 16000);
    expect(png.length).toBeLessThan(100_000);
    const file = join(dir, 'bomb.png');
    await writeFile(file, png);
    const rss0 = process.memoryUsage().rss;
    const t0 = performance.now();
    const e = await decodeImage(file).then(() => null, (x: Error) => x);
    const ms = performance.now() - t0;
    expect(e).toBeInstanceOf(ImageError);
    expect(e!.message).toBe(
      `image ${file}: 16000 x 16000 = 256000000 pixels exceeds the limit of 89478485 (refused before decoding, a possible decompression bomb; raise it with --max-image-pixels or MTV_MAX_IMAGE_PIXELS)`,
    );
    // Decoding it to RGB would take 768 MB and seconds; the header read takes neither.
    expect(ms).toBeLessThan(1500);
    expect(process.memoryUsage().rss - rss0).toBeLessThan(200 * 2 ** 20);
    // probeImage (the datasets' load-time check) reads the header from the file and refuses it the same way.
    await expect(probeImage(file)).rejects.toThrow(e!.message);
    const small = join(dir, 'small.png');
    await writeFile(small, blankPng(40, 30));
    await expect(probeImage(small)).resolves.toEqual({ format: 'png', width: 40, height: 30 });
    await writeFile(join(dir, 'empty.png'), '');
    await expect(probeImage(join(dir, 'empty.png'))).rejects.toThrow(/empty\.png: is empty \(0 bytes\)/);
  });

  it('the limit is configurable by option and by MTV_MAX_IMAGE_PIXELS, and the ceiling is Pillow\'s', async () => {
    expect(MAX_IMAGE_PIXELS).toBe(89_478_485);
    const png = blankPng(300, 200);
    await expect(decodeImage(png, { maxPixels: 59_999 })).rejects.toThrow(/300 x 200 = 60000 pixels exceeds the limit of 59999/);
    expect((await decodeImage(png, { maxPixels: 60_000 })).width).toBe(300);
    process.env.MTV_MAX_IMAGE_PIXELS = '1000';
    await expect(decodeImage(png)).rejects.toThrow(/exceeds the limit of 1000 /);
    expect(maxImagePixels(undefined, 50)).toBe(1000); // the variable wins over a processor's limit
    process.env.MTV_MAX_IMAGE_PIXELS = 'lots';
    await expect(decodeImage(png)).rejects.toThrow(/MTV_MAX_IMAGE_PIXELS=lots: expected a positive integer/);
    delete process.env.MTV_MAX_IMAGE_PIXELS;
    expect(maxImagePixels()).toBe(MAX_IMAGE_PIXELS);
    expect(maxImagePixels(undefined, 10 ** 12)).toBe(MAX_IMAGE_PIXELS);
  });

  it('a processor\'s limit is 4096 times its input area, capped at MAX_IMAGE_PIXELS', async () => {
    const clip = resolvePreprocessorConfig({ image_processor_type: 'CLIPImageProcessor', size: { shortest_edge: 336 }, crop_size: { height: 336, width: 336 } });
    expect(processorPixelLimit(clip)).toBe(MAX_IMAGE_PIXELS);
    const toy = resolvePreprocessorConfig({ image_processor_type: 'CLIPImageProcessor', size: { shortest_edge: 24 }, crop_size: { height: 24, width: 24 } });
    expect(processorPixelLimit(toy)).toBe(24 * 24 * 4096);
    delete process.env.MTV_MAX_IMAGE_PIXELS;
    await expect(decodeImage(blankPng(2000, 1200), { processorLimit: processorPixelLimit(toy) })).rejects.toThrow(/2400000 pixels exceeds the limit of 2359296/);
  });
});
