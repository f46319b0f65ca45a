// decodeImage against Pillow, the decoder transformers uses (load_image: Image.open, exif_transpose,
// convert('RGB'), no colour management): images with embedded ICC profiles (Display-P3, CMYK), CMYK
// JPEGs with and without the Adobe marker, greyscale, palette, alpha and 16-bit PNGs, generated here
// and decoded by both; the pixels must be bit-identical. Needs python3 with Pillow (Debian:
// apt-get install python3-pil, which scripts/bootstrap.mjs does as root); skipped without it.
import { execFileSync } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { decodeImage } from '../src/image/index.js';
import { findPython } from './python-oracle.js';
import { useTempDir } from './temp-dir.js';

const PY = findPython(['PIL']);
if (!PY) console.warn('image-icc.test.ts: SKIPPED: no python3 with Pillow (apt-get install python3-pil) to compare decodeImage against');

// Pillow's decode as transformers.image_utils.load_image does it; writes <file>.pil.rgb, prints a JSON line per file.
const ORACLE = `
import json, sys
from PIL import Image, ImageOps
for f in sys.argv[1:]:
    im = Image.open(f)
    info = {'file': f, 'mode': im.mode, 'icc': bool(im.info.get('icc_profile')), 'adobe': 'adobe' in im.info, 'trns': 'transparency' in im.info}
    rgb = ImageOps.exif_transpose(im).convert('RGB')
    info['size'] = list(rgb.size)
    open(f + '.pil.rgb', 'wb').write(rgb.tobytes())
    print(json.dumps(info))
`;

const W = 16;
const H = 12;
const pat = (channels: number, mul = 37): Uint8Array => Uint8Array.from({ length: W * H * channels }, (_, i) => (i * mul + 11) % 256);
const pat16 = (channels: number): Uint16Array => Uint16Array.from({ length: W * H * channels }, (_, i) => (i * 7919 + 301) % 65536);
const raw = (data: Uint8Array | Uint16Array, channels: 1 | 2 | 3 | 4): sharp.Sharp => sharp(data, { raw: { width: W, height: H, channels } });

/** The JPEG without its APP14 "Adobe" segment (libjpeg writes one into every CMYK JPEG). */
function stripAdobe(jpeg: Buffer): Buffer {
  const parts: Buffer[] = [jpeg.subarray(0, 2)];
  let i = 2;
  while (jpeg[i] === 0xff && jpeg[i + 1] !== 0xda) {
    const len = jpeg.readUInt16BE(i + 2);
    if (jpeg[i + 1] !== 0xee) parts.push(jpeg.subarray(i, i + 2 + len));
    i += 2 + len;
  }
  parts.push(jpeg.subarray(i));
  return Buffer.concat(parts);
}

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
const crc32 = (b: Uint8Array): number => {
  let c = 0xffffffff;
  for (const x of b) c = CRC_TABLE[(c ^ x) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
};
/** The PNG with a tRNS chunk (a transparent grey level of 16-bit greyscale) after its IHDR. */
function withTrns(png: Buffer, grey: number): Buffer {
  const body = Buffer.alloc(6);
  body.write('tRNS', 0, 'latin1');
  body.writeUInt16BE(grey, 4);
  const chunk = Buffer.alloc(12 + 2);
  chunk.writeUInt32BE(2, 0);
  body.copy(chunk, 4);
  chunk.writeUInt32BE(crc32(body), 10);
  const ihdrEnd = 8 + 8 + 13 + 4;
  return Buffer.concat([png.subarray(0, ihdrEnd), chunk, png.subarray(ihdrEnd)]);
}

// name -> encoded bytes; `icc` / `adobe` say what Pillow must see in the file (so each case tests what it claims).
const CASES: Record<string, { make: () => Promise<Buffer>; icc?: boolean; adobe?: boolean; trns?: boolean; mode?: string }> = {
  'p3.png': { make: () => raw(pat(3), 3).withIccProfile('p3').png().toBuffer(), icc: true, mode: 'RGB' },
  'p3-rgba.png': { make: () => raw(pat(4), 4).withIccProfile('p3').png().toBuffer(), icc: true, mode: 'RGBA' },
  'p3-420.jpg': { make: () => raw(pat(3), 3).withIccProfile('p3').jpeg({ quality: 90 }).toBuffer(), icc: true, mode: 'RGB' },
  'p3-444.jpg': { make: () => raw(pat(3), 3).withIccProfile('p3').jpeg({ quality: 90, chromaSubsampling: '4:4:4' }).toBuffer(), icc: true, mode: 'RGB' },
  'p3.webp': { make: () => raw(pat(3), 3).withIccProfile('p3').webp({ lossless: true }).toBuffer(), icc: true, mode: 'RGB' },
  'p3-rgb16.png': { make: () => raw(pat16(3), 3).toColourspace('rgb16').withIccProfile('p3').png().toBuffer(), icc: true, mode: 'RGB' },
  'p3-rotated.jpg': { make: () => raw(pat(3), 3).withMetadata({ orientation: 6 }).withIccProfile('p3').jpeg().toBuffer(), icc: true, mode: 'RGB' },
  'cmyk-adobe.jpg': {
    make: () => sharp(pat(4, 53), { raw: { width: W, height: H, channels: 4 } }).pipelineColourspace('cmyk').toColourspace('cmyk').jpeg({ quality: 95 }).toBuffer(),
    adobe: true, icc: false, mode: 'CMYK',
  },
  'cmyk-no-adobe.jpg': {
    make: async () => stripAdobe(await sharp(pat(4, 53), { raw: { width: W, height: H, channels: 4 } }).pipelineColourspace('cmyk').toColourspace('cmyk').jpeg({ quality: 95 }).toBuffer()),
    adobe: false, mode: 'CMYK',
  },
  'cmyk-icc.jpg': { make: () => raw(pat(3), 3).withIccProfile('cmyk').jpeg({ quality: 95 }).toBuffer(), adobe: true, icc: true, mode: 'CMYK' },
  'grey.png': { make: () => raw(pat(1), 1).toColourspace('b-w').png().toBuffer(), mode: 'L' },
  'grey.jpg': { make: () => raw(pat(1), 1).toColourspace('b-w').jpeg().toBuffer(), mode: 'L' },
  'grey-alpha.png': { make: () => raw(pat(2), 2).toColourspace('b-w').png().toBuffer(), mode: 'LA' },
  'rgba.png': { make: () => raw(pat(4), 4).png().toBuffer(), mode: 'RGBA' },
  'palette.png': { make: () => raw(pat(3, 5), 3).png({ palette: true, colours: 16 }).toBuffer(), mode: 'P' },
  'palette-alpha.png': { make: () => raw(pat(4, 5), 4).png({ palette: true, colours: 16 }).toBuffer(), mode: 'P' },
  // 4 colours: sharp writes a 2-bit palette (Pillow rawmode P;2)
  'palette-2bit.png': { make: () => raw(pat(3, 1).map((v) => (v % 4) * 85), 3).png({ palette: true, colours: 4 }).toBuffer(), mode: 'P' },
  'rgb16.png': { make: () => raw(pat16(3), 3).toColourspace('rgb16').png().toBuffer(), mode: 'RGB' },
  'rgba16.png': { make: () => raw(pat16(4), 4).toColourspace('rgb16').png().toBuffer(), mode: 'RGBA' },
  'grey16.png': { make: () => raw(pat16(1), 1).toColourspace('grey16').png().toBuffer(), mode: 'I' },
  'grey16-trns.png': { make: async () => withTrns(await raw(pat16(1), 1).toColourspace('grey16').png().toBuffer(), 301), mode: 'I', trns: true },
  'grey16-alpha.png': { make: () => raw(pat16(2), 2).toColourspace('grey16').png().toBuffer(), mode: 'RGBA' }, // Pillow 9.4 opens 16-bit LA as RGBA
};

let dir = '';
useTempDir('mtv-img-icc-', (d) => (dir = d));
const pillow = new Map<string, { mode: string; icc: boolean; adobe: boolean; trns: boolean; size: [number, number]; rgb: Buffer }>();

describe.skipIf(!PY)('decodeImage is bit-identical to Pillow convert(RGB) (no colour management)', () => {
  beforeAll(async () => {
    const files: string[] = [];
    for (const [name, c] of Object.entries(CASES)) {
      const f = join(dir, name);
      await writeFile(f, await c.make());
      files.push(f);
    }
    const out = execFileSync(PY!, ['-c', ORACLE, ...files], { encoding: 'utf8' });
    for (const line of out.trim().split('\n')) {
      const info = JSON.parse(line) as { file: string; mode: string; icc: boolean; adobe: boolean; trns: boolean; size: [number, number] };
      pillow.set(info.file.slice(dir.length + 1), { ...info, rgb: await readFile(`${info.file}.pil.rgb`) });
    }
  });

  it.each(Object.keys(CASES))('%s', async (name) => {
    const c = CASES[name]!;
    const want = pillow.get(name)!;
    if (c.mode !== undefined) expect(want.mode, 'the file is in the mode the case is about').toBe(c.mode);
    if (c.icc !== undefined) expect(want.icc, 'embedded ICC profile').toBe(c.icc);
    if (c.adobe !== undefined) expect(want.adobe, 'Adobe APP14 marker').toBe(c.adobe);
    if (c.trns !== undefined) expect(want.trns, 'tRNS transparency').toBe(c.trns);
    const got = await decodeImage(join(dir, name));
    expect([got.width, got.height]).toEqual(want.size);
    let diff = 0;
    let max = 0;
    for (let i = 0; i < got.data.length; i++) {
      const d = Math.abs(got.data[i]! - want.rgb[i]!);
      if (d) diff++;
      max = Math.max(max, d);
    }
    expect({ bytes: got.data.length, differing: diff, maxDiff: max }).toEqual({ bytes: want.rgb.length, differing: 0, maxDiff: 0 });
  });

  it('the profile cases really differ from a colour-managed decode (what sharp does by default)', async () => {
    // (not p3-rgb16.png: sharp processes 16-bit RGB in P3, so a P3 profile there changes nothing)
    for (const name of ['p3.png', 'p3-rgba.png', 'p3-420.jpg', 'p3-444.jpg', 'p3.webp', 'p3-rotated.jpg', 'cmyk-icc.jpg']) {
      const managed = await sharp(join(dir, name)).rotate().toColourspace('srgb').removeAlpha().raw().toBuffer();
      expect(Buffer.compare(managed, pillow.get(name)!.rgb), name).not.toBe(0);
    }
  });
});
