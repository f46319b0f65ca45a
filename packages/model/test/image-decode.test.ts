import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { ImageError, decodeImage } from '../src/image/index.js';
import { useTempDir } from './temp-dir.js';

const W = 7;
const H = 5;
/** Distinct, deterministic values per pixel and channel. */
function pattern(w: number, h: number, channels: number): Uint8Array {
  const d = new Uint8Array(w * h * channels);
  for (let i = 0; i < d.length; i++) d[i] = (i * 37 + 11) % 256;
  return d;
}
const raw = (data: Uint8Array, w: number, h: number, channels: 1 | 3 | 4) => sharp(data, { raw: { width: w, height: h, channels } });

let dir: string;
useTempDir('mtv-img-', (d) => (dir = d));

describe('decodeImage', () => {
  it('decodes PNG and lossless WebP bit-exactly', async () => {
    const rgb = pattern(W, H, 3);
    for (const bytes of [await raw(rgb, W, H, 3).png().toBuffer(), await raw(rgb, W, H, 3).webp({ lossless: true }).toBuffer()]) {
      const img = await decodeImage(bytes);
      expect([img.width, img.height]).toEqual([W, H]);
      expect(Array.from(img.data)).toEqual(Array.from(rgb));
    }
  });

  it('decodes JPEG close to the original (lossy: mean error under 3 levels)', async () => {
    const w = 32, h = 24;
    const rgb = new Uint8Array(w * h * 3);
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) for (let c = 0; c < 3; c++) rgb[(y * w + x) * 3 + c] = 20 + 4 * x + 3 * y + 20 * c; // max 253
    const img = await decodeImage(await raw(rgb, w, h, 3).jpeg({ quality: 95 }).toBuffer(), { source: 'gradient.jpg' });
    expect([img.width, img.height, img.source]).toEqual([w, h, 'gradient.jpg']);
    let err = 0;
    for (let i = 0; i < rgb.length; i++) err += Math.abs(img.data[i] - rgb[i]);
    expect(err / rgb.length).toBeLessThan(3);
  });

  it('drops alpha without compositing and expands greyscale to RGB', async () => {
    const rgba = pattern(W, H, 4);
    const img = await decodeImage(await raw(rgba, W, H, 4).png().toBuffer());
    const expected = Array.from({ length: W * H * 3 }, (_, i) => rgba[Math.floor(i / 3) * 4 + (i % 3)]);
    expect(Array.from(img.data)).toEqual(expected);

    const grey = pattern(W, H, 1);
    const g = await decodeImage(await raw(grey, W, H, 1).png().toBuffer());
    expect(Array.from(g.data)).toEqual(Array.from({ length: W * H * 3 }, (_, i) => grey[Math.floor(i / 3)]));
  });

  it('reads a path and names it as the source', async () => {
    const file = join(dir, 'cat.png');
    await writeFile(file, await raw(pattern(W, H, 3), W, H, 3).png().toBuffer());
    const img = await decodeImage(file);
    expect(img.source).toBe(file);
    expect(img.data.length).toBe(W * H * 3);
  });

  it('names the source and the reason for undecodable input', async () => {
    await expect(decodeImage(new TextEncoder().encode('definitely not an image'), { source: 'cat.jpg' })).rejects.toThrow(/^image cat\.jpg: not a decodable image: .+/);
    const png = await raw(pattern(W, H, 3), W, H, 3).png().toBuffer();
    const truncated = png.subarray(0, Math.floor(png.length / 2));
    const err = await decodeImage(truncated).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ImageError);
    expect((err as ImageError).source).toBe(`buffer of ${truncated.length} bytes`);
    expect((err as Error).message).toMatch(/cannot decode png data|not a decodable image/);
    await expect(decodeImage(new Uint8Array(0), { source: 'empty.png' })).rejects.toThrow('image empty.png: is empty (0 bytes)');
    await expect(decodeImage(join(dir, 'missing.jpg'))).rejects.toThrow(new RegExp(`image ${join(dir, 'missing.jpg')}: cannot read file: ENOENT`));
  });

  it('rejects formats outside the accepted list', async () => {
    const svg = new TextEncoder().encode('<svg xmlns="http://www.w3.org/2000/svg" width="4" height="4"><rect width="4" height="4"/></svg>');
    await expect(decodeImage(svg, { source: 'x.svg' })).rejects.toThrow(/image x\.svg: (format 'svg' is not accepted|not a decodable image)/);
  });
});
