// The Qwen2-VL image processor against an independent Pillow + numpy oracle of
// Qwen2VLImageProcessor._preprocess (written from image_processing_qwen2_vl.py, not imported):
// smart_resize (Python round half to even, the max_pixels floor and min_pixels ceil branches),
// Pillow BICUBIC on uint8, rescale in float64 cast to float32, normalise in float32 (OPENAI CLIP),
// the temporal repeat and the reshape/transpose into [grid_t*grid_h*grid_w, C*T*P*P]. Pixel values
// must be bit-identical. Needs python3 with Pillow and numpy; skipped without them.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { rng } from '@mtv/kernels';
import { parseQwen2VLImageProcessorConfig, preprocessQwen2VL, pyRound, smartResize } from '../src/families/qwen2-vl/image-processor.js';
import { ImageError } from '../src/image/errors.js';
import type { RgbImage } from '../src/image/types.js';
import { findPython, runPython, skipReason } from './python-oracle.js';
import { useTempDir } from './temp-dir.js';

let tmp = '';
useTempDir('qwen2vl-image-', (d) => (tmp = d));

const MODULES = ['PIL', 'numpy'];
const PY = findPython(MODULES);
if (!PY) console.warn(`qwen2-vl-image.test.ts: Pillow oracle SKIPPED: ${skipReason(MODULES)}`);

function testImage(width: number, height: number, seed: number): RgbImage {
  const r = rng(seed);
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) {
      const o = (y * width + x) * 3;
      data[o] = Math.min(255, Math.floor(((255 * x) / Math.max(1, width - 1)) * 0.7 + r() * 76));
      data[o + 1] = Math.min(255, Math.floor(((255 * y) / Math.max(1, height - 1)) * 0.7 + r() * 76));
      data[o + 2] = Math.floor(r() * 256);
    }
  return { width, height, data, source: `test ${width}x${height}` };
}

const ORACLE = `
import json, math, sys
import numpy as np
from PIL import Image
spec = json.load(open(sys.argv[1]))
cfg = spec['cfg']
def smart_resize(height, width, factor, min_pixels, max_pixels):
    if max(height, width) / min(height, width) > 200:
        raise ValueError('aspect')
    h_bar = round(height / factor) * factor
    w_bar = round(width / factor) * factor
    if h_bar * w_bar > max_pixels:
        beta = math.sqrt((height * width) / max_pixels)
        h_bar = max(factor, math.floor(height / beta / factor) * factor)
        w_bar = max(factor, math.floor(width / beta / factor) * factor)
    elif h_bar * w_bar < min_pixels:
        beta = math.sqrt(min_pixels / (height * width))
        h_bar = math.ceil(height * beta / factor) * factor
        w_bar = math.ceil(width * beta / factor) * factor
    return h_bar, w_bar
P, m, tp = cfg['patch_size'], cfg['merge_size'], cfg['temporal_patch_size']
mean = np.array(cfg['image_mean'], dtype=np.float32)
std = np.array(cfg['image_std'], dtype=np.float32)
out, grids = [], []
for im in spec['images']:
    img = Image.frombytes('RGB', (im['w'], im['h']), open(im['file'], 'rb').read())
    h, w = smart_resize(img.height, img.width, P * m, cfg['min_pixels'], cfg['max_pixels'])
    img = img.resize((w, h), resample=Image.BICUBIC)
    x = np.array(img)
    x = (x.astype(np.float64) * (1 / 255)).astype(np.float32)
    x = (x - mean) / std
    x = x.transpose(2, 0, 1)
    patches = np.stack([x] * tp)
    c = patches.shape[1]
    gt, gh, gw = patches.shape[0] // tp, h // P, w // P
    flat = patches.reshape(gt, tp, c, gh // m, m, P, gw // m, m, P).transpose(0, 3, 6, 4, 7, 2, 1, 5, 8).reshape(gt * gh * gw, c * tp * P * P)
    out.append(flat.astype(np.float32))
    grids.append([gt, gh, gw])
open(sys.argv[2], 'wb').write(np.concatenate(out).tobytes())
print(json.dumps(grids))
`;

const CFG = { min_pixels: 256, max_pixels: 2048, patch_size: 4, merge_size: 2, temporal_patch_size: 2, image_mean: [0.48145466, 0.4578275, 0.40821073], image_std: [0.26862954, 0.26130258, 0.27577711] };

describe('smart_resize', () => {
  it('rounds half to even like Python round()', () => {
    expect([0.5, 1.5, 2.5, 3.5, 2.4999, 2.5001, 7].map(pyRound)).toEqual([0, 2, 2, 4, 2, 3, 7]);
  });

  it('worked example: 640x480 at the published limits gives 476 x 644 (a 34 x 46 grid, 391 tokens)', () => {
    expect(smartResize(480, 640, 28, 3136, 12845056)).toEqual([476, 644]);
  });

  it('ties round to even, too-large images floor, too-small ones ceil, never below one factor', () => {
    // 20 / 8 = 2.5 -> 2, 36 / 8 = 4.5 -> 4
    expect(smartResize(20, 36, 8, 1, 1e9)).toEqual([16, 32]);
    expect(smartResize(70, 90, 8, 256, 2048)).toEqual([32, 48]);
    expect(smartResize(5, 6, 8, 256, 2048)).toEqual([16, 24]);
    // beta = sqrt(9000 / 2048): 1000 / beta / 8 = 59.6 -> 472; 9 / beta / 8 < 1 -> one factor
    expect(smartResize(1000, 9, 8, 1, 2048)).toEqual([472, 8]);
    expect(() => smartResize(1000, 4, 8, 1, 1e9, 'x.png')).toThrow(ImageError);
  });
});

describe.skipIf(!PY)('preprocessQwen2VL vs a Pillow + numpy oracle (bit-exact)', () => {
  // [width, height]: landscape, portrait, a tie in the rounding, below min_pixels, above max_pixels, square
  const sizes: Array<[number, number]> = [[45, 21], [17, 40], [36, 20], [9, 7], [90, 70], [31, 33], [300, 37]];
  it(`sizes ${sizes.map(([w, h]) => `${w}x${h}`).join(', ')}`, async () => {
    const images = sizes.map(([w, h], i) => testImage(w, h, 100 + i));
    const spec = { cfg: CFG, images: [] as Array<{ w: number; h: number; file: string }> };
    for (const [i, img] of images.entries()) {
      const file = join(tmp, `img${i}.rgb`);
      await writeFile(file, img.data);
      spec.images.push({ w: img.width, h: img.height, file });
    }
    const specFile = join(tmp, 'spec.json');
    await writeFile(specFile, JSON.stringify(spec));
    const outFile = join(tmp, 'out.f32');
    const grids = JSON.parse(runPython(PY!, ORACLE, [specFile, outFile])) as number[][];
    const { readFile } = await import('node:fs/promises');
    const want = new Float32Array((await readFile(outFile)).buffer.slice(0));
    const got = preprocessQwen2VL(images, parseQwen2VLImageProcessorConfig(CFG, 'test config')).pixels;
    expect(got.grids).toEqual(grids);
    expect(got.shape).toEqual([grids.reduce((a, [t, h, w]) => a + t! * h! * w!, 0), 6, 4, 4]);
    expect(got.data.length).toBe(want.length);
    let diff = 0;
    for (let i = 0; i < want.length; i++) if (Object.is(got.data[i], want[i]) === false) diff++;
    expect(diff).toBe(0);
    // the 90 x 70 image exceeded max_pixels
    expect(grids[4]).toEqual([1, 8, 12]);
  });
});

describe('preprocessor_config.json', () => {
  it('reads min/max_pixels (or size.shortest_edge / longest_edge) and refuses bad fields by name', () => {
    expect(parseQwen2VLImageProcessorConfig({}, 'p').maxPixels).toBe(28 * 28 * 1280);
    expect(parseQwen2VLImageProcessorConfig({ size: { shortest_edge: 100, longest_edge: 5000 } }, 'p')).toMatchObject({ minPixels: 100, maxPixels: 5000, resample: 'bicubic' });
    expect(parseQwen2VLImageProcessorConfig({ min_pixels: 3136, max_pixels: 12845056, size: { shortest_edge: 1, longest_edge: 2 } }, 'p')).toMatchObject({ minPixels: 3136, maxPixels: 12845056 });
    expect(() => parseQwen2VLImageProcessorConfig({ image_processor_type: 'CLIPImageProcessor' }, 'p')).toThrow(/p: image_processor_type: "CLIPImageProcessor" is not supported/);
    expect(() => parseQwen2VLImageProcessorConfig({ min_pixels: 10, max_pixels: 5 }, 'p')).toThrow(/min_pixels: 10 exceeds max_pixels 5/);
    expect(() => parseQwen2VLImageProcessorConfig({ patch_size: 0 }, 'p')).toThrow(/patch_size: expected a positive integer/);
  });
});
