// preprocessIdefics3 against an independent Pillow + numpy oracle of Idefics3ImageProcessorPil
// (image_processing_pil_idefics3.py): the two size rules, the two sequential LANCZOS resizes, the
// row-major M x M crops and the global image, square resize without splitting, rescale (float64 then
// float32), normalise in float32, padding with a pixel mask. Pixel values must be bit-identical.
// Needs python3 with Pillow and numpy (python3-pil, python3-numpy); skipped without them.
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { rng } from '@mtv/kernels';
import {
  idefics3Frames,
  idefics3Grid,
  idefics3ResizeSize,
  idefics3VisionEncoderSize,
  parseIdefics3ImageProcessorConfig,
  preprocessIdefics3,
} from '../src/families/idefics3/image-processor.js';
import { ImageError } from '../src/image/errors.js';
import type { RgbImage } from '../src/image/types.js';
import { findPython, runPython } from './python-oracle.js';
import { useTempDir } from './temp-dir.js';

let tmp = '';
useTempDir('idefics3-image-', (d) => (tmp = d));

const PY = findPython(['PIL']);
if (!PY) console.warn('idefics3-image.test.ts: Pillow oracle SKIPPED: no python3 with Pillow (apt-get install python3-pil)');

/** A seeded image with smooth gradients plus noise (so every resize has work to do). */
function testImage(width: number, height: number, seed: number): RgbImage {
  const r = rng(seed);
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const o = (y * width + x) * 3;
      data[o] = Math.min(255, Math.floor((255 * x) / Math.max(1, width - 1) * 0.7 + r() * 76));
      data[o + 1] = Math.min(255, Math.floor((255 * y) / Math.max(1, height - 1) * 0.7 + r() * 76));
      data[o + 2] = Math.floor(r() * 256);
    }
  }
  return { width, height, data, source: `test ${width}x${height}` };
}

// Idefics3ImageProcessorPil in Pillow + numpy, written from the transformers source (not imported).
const ORACLE = `
import json, math, struct, sys
from array import array
from PIL import Image
try:
    import numpy as np
except ImportError:
    np = None
spec = json.load(open(sys.argv[1]))
cfg = spec['cfg']
MAX_IMAGE_SIZE = 4096
def rescale_to_max_len(height, width, max_len, min_len=1):
    aspect_ratio = width / height
    if width >= height:
        width = max_len
        height = int(width / aspect_ratio)
        if height % 2 != 0:
            height += 1
    elif height > width:
        height = max_len
        width = int(height * aspect_ratio)
        if width % 2 != 0:
            width += 1
    return max(height, min_len), max(width, min_len)
def scale_below_upper_bound(height, width, max_len):
    aspect_ratio = width / height
    if width >= height and width > max_len:
        width = max_len
        height = int(width / aspect_ratio)
    elif height > width and height > max_len:
        height = max_len
        width = int(height * aspect_ratio)
    return max(height, 1), max(width, 1)
resample = cfg.get('resample', 1)
M = cfg['max_image_size']['longest_edge']
frames, grids = [], []
for im in spec['images']:
    img = Image.frombytes('RGB', (im['w'], im['h']), open(im['file'], 'rb').read())
    if cfg.get('do_resize', True):
        size = cfg['size']
        if 'longest_edge' in size:
            h, w = rescale_to_max_len(img.height, img.width, size['longest_edge'])
            h, w = scale_below_upper_bound(h, w, MAX_IMAGE_SIZE)
        else:
            h, w = size['height'], size['width']
        img = img.resize((w, h), resample=resample)
    if cfg.get('do_image_splitting', True):
        height, width = img.height, img.width
        aspect_ratio = width / height
        if width >= height:
            width = math.ceil(width / M) * M
            height = int(width / aspect_ratio)
            height = math.ceil(height / M) * M
        elif height > width:
            height = math.ceil(height / M) * M
            width = int(height * aspect_ratio)
            width = math.ceil(width / M) * M
        img = img.resize((width, height), resample=resample)
        if img.height > M or img.width > M:
            rows = (img.height - M) // M + 1
            cols = (img.width - M) // M + 1
            for r in range(rows):
                for c in range(cols):
                    frames.append(img.crop((c * M, r * M, c * M + M, r * M + M)))
            frames.append(img.resize((M, M), resample=resample))
        else:
            rows = cols = 0
            frames.append(img)
    else:
        rows = cols = 0
        frames.append(img.resize((M, M), resample=resample))
    grids.append([rows, cols])
mean = cfg.get('image_mean', [0.5] * 3)
std = cfg.get('image_std', [0.5] * 3)
factor = cfg.get('rescale_factor', 1 / 255)
H = max(f.height for f in frames)
W = max(f.width for f in frames)
if np is not None:
    # numpy, as transformers' rescale (float64 product, cast to float32) and normalize (float32).
    m32 = np.array(mean, dtype=np.float32)[:, None, None]
    s32 = np.array(std, dtype=np.float32)[:, None, None]
    out = np.zeros((len(frames), 3, H, W), dtype=np.float32)
    mask = np.zeros((len(frames), H, W), dtype=np.uint8)
    for i, f in enumerate(frames):
        x = np.array(f).transpose(2, 0, 1)
        if cfg.get('do_rescale', True):
            x = (x.astype(np.float64) * factor).astype(np.float32)
        if cfg.get('do_normalize', True):
            x = (x.astype(np.float32) - m32) / s32
        out[i, :, :f.height, :f.width] = x.astype(np.float32)
        mask[i, :f.height, :f.width] = 1
    out_bytes, mask_bytes = out.tobytes(), mask.tobytes()
else:
    # Without numpy: float32 by rounding each double result (exact for one +, -, * or /).
    f32 = lambda v: struct.unpack('<f', struct.pack('<f', v))[0]
    out = array('f', bytes(4 * len(frames) * 3 * H * W))
    mask = bytearray(len(frames) * H * W)
    for i, f in enumerate(frames):
        px = f.tobytes()
        for c in range(3):
            for y in range(f.height):
                for x in range(f.width):
                    v = float(px[(y * f.width + x) * 3 + c])
                    if cfg.get('do_rescale', True):
                        v = f32(v * factor)
                    if cfg.get('do_normalize', True):
                        v = f32(f32(v - f32(mean[c])) / f32(std[c]))
                    out[((i * 3 + c) * H + y) * W + x] = v
        for y in range(f.height):
            mask[(i * H + y) * W:(i * H + y) * W + f.width] = b'\x01' * f.width
    out_bytes, mask_bytes = out.tobytes(), bytes(mask)
open(spec['out'], 'wb').write(out_bytes)
open(spec['out'] + '.mask', 'wb').write(mask_bytes)
print(json.dumps({'shape': [len(frames), 3, H, W], 'grids': grids, 'numpy': np is not None}))
`;

const BASE = {
  do_convert_rgb: true,
  do_image_splitting: true,
  do_normalize: true,
  do_pad: true,
  do_rescale: true,
  do_resize: true,
  image_mean: [0.5, 0.5, 0.5],
  image_processor_type: 'Idefics3ImageProcessor',
  image_std: [0.5, 0.5, 0.5],
  max_image_size: { longest_edge: 32 },
  resample: 1,
  rescale_factor: 0.00392156862745098,
  size: { longest_edge: 96 },
};

let caseNo = 0;
async function compare(images: RgbImage[], cfgJson: Record<string, unknown>): Promise<void> {
  const k = caseNo++;
  const spec = { cfg: cfgJson, out: join(tmp, `out${k}.f32`), images: [] as { w: number; h: number; file: string }[] };
  for (const [i, img] of images.entries()) {
    const file = join(tmp, `in${k}-${i}.rgb`);
    await writeFile(file, img.data);
    spec.images.push({ w: img.width, h: img.height, file });
  }
  await writeFile(join(tmp, `spec${k}.json`), JSON.stringify(spec));
  const info = JSON.parse(runPython(PY!, ORACLE, [join(tmp, `spec${k}.json`)])) as { shape: number[]; grids: [number, number][] };
  const cfg = parseIdefics3ImageProcessorConfig(cfgJson, 'test');
  const ours = preprocessIdefics3(images, cfg);
  expect(ours.pixels.shape).toEqual(info.shape);
  expect(ours.grids.map((g) => [g.rows, g.cols])).toEqual(info.grids);
  images.forEach((img, i) => expect(idefics3Grid(img.width, img.height, cfg)).toEqual(ours.grids[i]));
  const theirs = await readFile(spec.out);
  const mine = Buffer.from(ours.pixels.data.buffer, ours.pixels.data.byteOffset, ours.pixels.data.byteLength);
  if (!mine.equals(theirs)) {
    const a = ours.pixels.data;
    const b = new Float32Array(theirs.buffer, theirs.byteOffset, theirs.byteLength / 4);
    const first = a.findIndex((v, i) => v !== b[i]);
    throw new Error(`pixels differ (${a.length} vs ${b.length} values); first at ${first}: ours ${a[first]}, Pillow ${b[first]}`);
  }
  expect(Buffer.from(ours.pixels.mask!).equals(await readFile(`${spec.out}.mask`))).toBe(true);
}

describe.skipIf(!PY)('preprocessIdefics3 against Pillow + numpy', () => {
  const shapes: [number, number][] = [
    [37, 23], // landscape, odd: 96 x 60 -> 96 x 64 -> 2 x 3 tiles
    [19, 53], // portrait: width int(96 * 19 / 53) = 34 -> 96 x 34 -> 3 x 2
    [5, 4], // small, upscaled
    [64, 64], // square
    [200, 61], // wide: 1 row
    [7, 100], // tall: 1 column
    [1, 1],
    [33, 97],
    [31, 32], // nearly square portrait: 94 x 96 -> 96 x 96, 3 x 3
  ];
  for (const split of [true, false]) {
    for (const [w, h] of shapes) {
      it(`${w}x${h}, do_image_splitting ${split}`, async () => {
        await compare([testImage(w, h, w * 1000 + h)], { ...BASE, do_image_splitting: split });
      });
    }
  }

  it('several images of one prompt: frames in order, one grid each', async () => {
    await compare([testImage(37, 23, 1), testImage(8, 30, 2), testImage(50, 50, 3)], BASE);
  });

  it('a longest edge that fits one tile (no split), BICUBIC, OpenAI-CLIP mean/std', async () => {
    await compare([testImage(20, 13, 4), testImage(13, 20, 5)], {
      ...BASE,
      size: { longest_edge: 32 },
      resample: 3,
      image_mean: [0.48145466, 0.4578275, 0.40821073],
      image_std: [0.26862954, 0.26130258, 0.27577711],
    });
  });

  it('an exact size, no rescale, no resize', async () => {
    await compare([testImage(45, 20, 6)], { ...BASE, size: { height: 40, width: 70 } });
    await compare([testImage(45, 20, 7)], { ...BASE, do_rescale: false });
    await compare([testImage(70, 20, 8)], { ...BASE, do_resize: false });
  });
});

describe('Idefics3 image sizes and config', () => {
  it('step 1: longest edge, even rounding of the other side, up-scaling small images', () => {
    expect(idefics3ResizeSize(640, 480, 2048)).toEqual({ width: 2048, height: 1536 }); // VLM_FAMILIES 1.6
    expect(idefics3ResizeSize(37, 23, 96)).toEqual({ width: 96, height: 60 }); // int(59.67) = 59 -> 60
    expect(idefics3ResizeSize(23, 37, 96)).toEqual({ width: 60, height: 96 });
    expect(idefics3ResizeSize(1, 1, 96)).toEqual({ width: 96, height: 96 });
    expect(idefics3ResizeSize(1000, 1, 96)).toEqual({ width: 96, height: 1 }); // int(0.096) = 0 -> even 0 -> clamped to 1
    expect(idefics3ResizeSize(100, 10, 5000)).toEqual({ width: 4096, height: 409 }); // then kept under 4096
  });

  it('step 2 and the grid: multiples of the tile side', () => {
    expect(idefics3VisionEncoderSize(2048, 1536, 512)).toEqual({ width: 2048, height: 1536 });
    expect(idefics3VisionEncoderSize(1536, 1152, 384)).toEqual({ width: 1536, height: 1152 });
    expect(idefics3VisionEncoderSize(96, 60, 32)).toEqual({ width: 96, height: 64 });
    const cfg = parseIdefics3ImageProcessorConfig({ ...BASE, size: { longest_edge: 2048 }, max_image_size: { longest_edge: 512 } });
    expect(idefics3Grid(640, 480, cfg)).toEqual({ rows: 3, cols: 4 }); // 12 tiles + global
    expect(idefics3Grid(640, 480, { ...cfg, doImageSplitting: false })).toEqual({ rows: 0, cols: 0 });
  });

  it('tiles are row-major crops of the step-2 image and the last frame is the global one', () => {
    const cfg = parseIdefics3ImageProcessorConfig({ ...BASE, do_resize: false });
    const img = testImage(64, 96, 9); // already multiples of 32: step 2 is the identity
    const { frames, rows, cols } = idefics3Frames(img, cfg);
    expect([rows, cols, frames.length]).toEqual([3, 2, 7]);
    const f = frames[3]!; // row 1, col 1
    for (const [x, y] of [[0, 0], [31, 31], [5, 17]] as const) {
      const s = ((32 + y) * 64 + 32 + x) * 3;
      expect(Array.from(f.data.subarray((y * 32 + x) * 3, (y * 32 + x) * 3 + 3))).toEqual(Array.from(img.data.subarray(s, s + 3)));
    }
    expect([frames[6]!.width, frames[6]!.height]).toEqual([32, 32]);
  });

  it('defaults are the class defaults; bad fields are refused by name', () => {
    const d = parseIdefics3ImageProcessorConfig({}, 'p.json');
    expect(d).toMatchObject({ size: { mode: 'longest_edge', longestEdge: 1456 }, maxImageSize: 364, resample: 'lanczos', doImageSplitting: true, doPad: true, imageMean: [0.5, 0.5, 0.5] });
    const bad: [Record<string, unknown>, RegExp][] = [
      [{ size: { shortest_edge: 3 } }, /p\.json: size: must have "longest_edge"/],
      [{ size: { longest_edge: 0 } }, /size\.longest_edge: must be a positive integer/],
      [{ max_image_size: 364 }, /max_image_size\.longest_edge/],
      [{ resample: 0 }, /resample: 0 \(NEAREST\) is not supported/],
      [{ resample: 9 }, /resample: must be a Pillow filter code/],
      [{ do_pad: 'yes' }, /do_pad: must be true or false/],
      [{ image_std: [0.5, 0, 0.5] }, /image_std: .* has a zero/],
      [{ image_mean: [1, 2] }, /image_mean: must be a number or 3 numbers/],
      [{ image_processor_type: 'SiglipImageProcessor' }, /image_processor_type: "SiglipImageProcessor" is not an Idefics3 image processor/],
    ];
    for (const [raw, re] of bad) {
      expect(() => parseIdefics3ImageProcessorConfig(raw, 'p.json')).toThrow(ImageError);
      expect(() => parseIdefics3ImageProcessorConfig(raw, 'p.json')).toThrow(re);
    }
  });

  it('every frame is M x M, so the frames of a prompt never pad: the mask is all ones; without do_pad there is none', () => {
    const cfg = parseIdefics3ImageProcessorConfig({ ...BASE, do_resize: false, max_image_size: { longest_edge: 16 } });
    // 40 x 12 -> resize_for_vision_encoder: w = 48, h = ceil(int(48 / (40 / 12)) / 16) * 16 = 16: 1 x 3 tiles of 16 x 16.
    const out = preprocessIdefics3([testImage(16, 16, 1), testImage(40, 12, 2)], cfg);
    expect(out.grids).toEqual([{ rows: 0, cols: 0 }, { rows: 1, cols: 3 }]);
    expect(out.pixels.shape).toEqual([5, 3, 16, 16]);
    expect(out.pixels.mask!.length).toBe(5 * 16 * 16);
    expect(out.pixels.mask!.every((m) => m === 1)).toBe(true);
    const cfgNoPad = parseIdefics3ImageProcessorConfig({ ...BASE, do_image_splitting: false, do_pad: false });
    expect(preprocessIdefics3([testImage(5, 9, 3)], cfgNoPad).pixels.mask).toBeUndefined();
    expect(() => preprocessIdefics3([], cfg)).toThrow(/at least one image/);
  });
});
