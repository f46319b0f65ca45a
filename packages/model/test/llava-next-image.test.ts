// preprocessAnyres against an independent Pillow + numpy oracle of LlavaNextImageProcessor and
// LlavaOnevisionImageProcessor (the slow classes, image_processing_llava_next.py /
// image_processing_llava_onevision.py): select_best_resolution, the aspect-keeping resize to
// get_patch_output_size, the centred black padding, the row-major crops after the squashed base
// image, the per-crop resize / centre crop, OneVision's pad_to_square multi-image view, rescale
// (float64 then float32) and normalise (float32). Pixel values must be bit-identical, for images of
// many aspect ratios (wide, tall, square, upscaled, downscaled). Needs python3 with Pillow and numpy.
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { rng } from '@mtv/kernels';
import {
  anyresCrops, padToSquare, parseAnyresImageProcessorConfig, patchOutputSize, preprocessAnyres, selectBestResolution, type LlavaNextModelType, type RgbImage,
} from '../src/index.js';
import { ImageError } from '../src/image/errors.js';
import { findPython, runPython, skipReason } from './python-oracle.js';
import { useTempDir } from './temp-dir.js';

let tmp = '';
useTempDir('llava-next-image-', (d) => (tmp = d));

const MODULES = ['PIL', 'numpy'];
const PY = findPython(MODULES);
if (!PY) console.warn(`llava-next-image.test.ts: Pillow oracle SKIPPED: ${skipReason(MODULES)}`);

/** A seeded image with smooth gradients plus noise (so every resize has work to do). */
function testImage(width: number, height: number, seed: number): RgbImage {
  const r = rng(seed);
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const o = (y * width + x) * 3;
      data[o] = Math.min(255, Math.floor(((255 * x) / Math.max(1, width - 1)) * 0.7 + r() * 76));
      data[o + 1] = Math.min(255, Math.floor(((255 * y) / Math.max(1, height - 1)) * 0.7 + r() * 76));
      data[o + 2] = Math.floor(r() * 256);
    }
  }
  return { width, height, data, source: `test ${width}x${height}` };
}

// Both slow image processors in Pillow + numpy, written from the transformers source (not imported).
const ORACLE = `
import json, math, sys
import numpy as np
from PIL import Image
spec = json.load(open(sys.argv[1]))
cfg, kind, multi = spec['cfg'], spec['kind'], spec['multi']
OPENAI_CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073]
OPENAI_CLIP_STD = [0.26862954, 0.26130258, 0.27577711]
resample = cfg.get('resample', 3)
mean = cfg.get('image_mean', OPENAI_CLIP_MEAN)
std = cfg.get('image_std', OPENAI_CLIP_STD)
size = cfg.get('size', {'height': 384, 'width': 384} if kind == 'llava_onevision' else {'shortest_edge': 224})
crop_size = cfg.get('crop_size', {'height': 224, 'width': 224})
do_center_crop = kind == 'llava_next' and cfg.get('do_center_crop', True)
pinpoints = cfg['image_grid_pinpoints']
def pil_resize(a, h, w):  # transformers.image_transforms.resize of a uint8 HWC array
    return np.array(Image.fromarray(a).resize((w, h), resample=resample))
def best_resolution(h, w):
    best, max_eff, min_waste = None, 0, float('inf')
    for H, W in pinpoints:
        scale = min(W / w, H / h)
        dw, dh = int(w * scale), int(h * scale)
        eff = min(dw * dh, w * h)
        waste = W * H - eff
        if eff > max_eff or (eff == max_eff and waste < min_waste):
            max_eff, min_waste, best = eff, waste, (H, W)
    return best
def patch_output_size(h, w, target):
    th, tw = target
    sw, sh = tw / w, th / h
    if sw < sh:
        return min(math.ceil(h * sw), th), tw
    return th, min(math.ceil(w * sh), tw)
if kind == 'llava_next':
    side = size['shortest_edge'] if 'shortest_edge' in size else min(size['height'], size['width'])
    base_size, tile = (side, side), crop_size['height']
else:
    base_size = (size['height'], size['width']) if 'height' in size else (size['shortest_edge'], size['shortest_edge'])
    tile = base_size[0]
def image_patches(a):
    h, w = a.shape[:2]
    best = best_resolution(h, w)
    nh, nw = patch_output_size(h, w, best)
    r = pil_resize(a, nh, nw)
    px, rx = divmod(best[1] - nw, 2)
    py, ry = divmod(best[0] - nh, 2)
    padded = np.pad(r, ((py, py + ry), (px, px + rx), (0, 0)), mode='constant', constant_values=0)
    patches = [padded[i:i + tile, j:j + tile] for i in range(0, best[0], tile) for j in range(0, best[1], tile)]
    return [pil_resize(a, base_size[0], base_size[1])] + patches
def pad_to_square(a):
    h, w = a.shape[:2]
    if h == w:
        return a
    m = max(h, w)
    out = np.zeros((m, m, 3), dtype=a.dtype)
    for i, c in enumerate(tuple(int(x * 255) for x in mean)):
        out[:, :, i] = c
    if w > h:
        s = (m - h) // 2; out[s:s + h, :] = a
    else:
        s = (m - w) // 2; out[:, s:s + w] = a
    return out
def preprocess(a):
    if cfg.get('do_resize', True):
        if kind == 'llava_next' and 'shortest_edge' in size:
            h, w = a.shape[:2]
            short, long = (w, h) if w <= h else (h, w)
            ns, nl = size['shortest_edge'], int(size['shortest_edge'] * long / short)
            oh, ow = (nl, ns) if w <= h else (ns, nl)
        elif kind == 'llava_next':
            oh, ow = size['height'], size['width']
        else:
            oh, ow = base_size
        a = pil_resize(a, oh, ow)
    if do_center_crop:
        h, w = a.shape[:2]
        top, left = (h - crop_size['height']) // 2, (w - crop_size['width']) // 2
        a = a[top:top + crop_size['height'], left:left + crop_size['width']]
    x = a.transpose(2, 0, 1)
    if cfg.get('do_rescale', True):
        x = (x.astype(np.float64) * cfg.get('rescale_factor', 1 / 255)).astype(np.float32)
    if cfg.get('do_normalize', True):
        x = (x.astype(np.float32) - np.array(mean, dtype=np.float32)[:, None, None]) / np.array(std, dtype=np.float32)[:, None, None]
    return x.astype(np.float32)
crops, tiles = [], []
for im in spec['images']:
    a = np.frombuffer(open(im['file'], 'rb').read(), dtype=np.uint8).reshape(im['h'], im['w'], 3)
    mine = [pad_to_square(a)] if multi else image_patches(a)
    crops += [preprocess(c) for c in mine]
    tiles.append(len(mine))
out = np.stack(crops)
open(spec['out'], 'wb').write(out.tobytes())
print(json.dumps({'shape': list(out.shape), 'tiles': tiles}))
`;

const CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073];
const CLIP_STD = [0.26862954, 0.26130258, 0.27577711];
const NEXT_CFG = {
  crop_size: { height: 16, width: 16 }, do_center_crop: true, image_grid_pinpoints: [[16, 32], [32, 16], [32, 32], [48, 16], [16, 48]],
  image_mean: CLIP_MEAN, image_std: CLIP_STD, image_processor_type: 'LlavaNextImageProcessor', resample: 3, rescale_factor: 0.00392156862745098, size: { shortest_edge: 16 },
};
const OV_CFG = {
  image_grid_pinpoints: Array.from({ length: 9 }, (_, i) => [16 * (Math.floor(i / 3) + 1), 16 * ((i % 3) + 1)]),
  image_mean: [0.5, 0.5, 0.5], image_std: [0.5, 0.5, 0.5], image_processor_type: 'LlavaOnevisionImageProcessor', resample: 3, rescale_factor: 0.00392156862745098, size: { height: 16, width: 16 },
};

let caseNo = 0;
async function compare(kind: LlavaNextModelType, images: RgbImage[], cfgJson: Record<string, unknown>, multi = false): Promise<number[]> {
  const k = caseNo++;
  const spec = { cfg: cfgJson, kind, multi, out: join(tmp, `out${k}.f32`), images: [] as { w: number; h: number; file: string }[] };
  for (const [i, img] of images.entries()) {
    const file = join(tmp, `in${k}-${i}.rgb`);
    await writeFile(file, img.data);
    spec.images.push({ w: img.width, h: img.height, file });
  }
  await writeFile(join(tmp, `spec${k}.json`), JSON.stringify(spec));
  const info = JSON.parse(runPython(PY!, ORACLE, [join(tmp, `spec${k}.json`)])) as { shape: number[]; tiles: number[] };
  const ours = preprocessAnyres(images, parseAnyresImageProcessorConfig(cfgJson, kind, 'test'), multi);
  expect(ours.shape).toEqual(info.shape);
  expect(ours.images.map((im) => im.tiles)).toEqual(info.tiles);
  expect(ours.images.map((im) => [im.width, im.height])).toEqual(images.map((im) => [im.width, im.height]));
  const theirs = await readFile(spec.out);
  const mine = Buffer.from(ours.data.buffer, ours.data.byteOffset, ours.data.byteLength);
  if (!mine.equals(theirs)) {
    const b = new Float32Array(theirs.buffer, theirs.byteOffset, theirs.byteLength / 4);
    const first = ours.data.findIndex((v, i) => v !== b[i]);
    throw new Error(`pixels differ (${ours.data.length} vs ${b.length} values); first at ${first}: ours ${ours.data[first]}, Pillow ${b[first]}`);
  }
  return info.tiles;
}

// [width, height]: wide, tall, square, nearly square, upscaled tiny, downscaled large, extreme strips
const SHAPES: [number, number][] = [[40, 23], [10, 40], [33, 33], [31, 32], [7, 5], [120, 45], [37, 111], [200, 199], [64, 9], [3, 70], [1, 1]];

describe.skipIf(!PY)('preprocessAnyres against Pillow + numpy', () => {
  for (const [w, h] of SHAPES) {
    it(`LLaVA-NeXT, ${w}x${h}`, async () => {
      await compare('llava_next', [testImage(w, h, w * 1000 + h)], NEXT_CFG);
    });
    it(`LLaVA-OneVision, ${w}x${h}`, async () => {
      await compare('llava_onevision', [testImage(w, h, w * 1000 + h + 1)], OV_CFG);
    });
  }

  it('several images: crops in order, the base crop first for each', async () => {
    expect(await compare('llava_next', [testImage(40, 23, 1), testImage(10, 40, 2), testImage(7, 5, 3)], NEXT_CFG)).toEqual([5, 4, 3]);
    expect(await compare('llava_onevision', [testImage(25, 30, 4), testImage(12, 40, 5)], OV_CFG)).toEqual([5, 4]);
  });

  it('OneVision multi-image view: pad_to_square with int(mean * 255), one crop per image (CLIP mean: 122, 116, 104)', async () => {
    expect(await compare('llava_onevision', [testImage(30, 14, 6), testImage(9, 21, 7), testImage(16, 16, 8), testImage(50, 3, 9)], OV_CFG, true)).toEqual([1, 1, 1, 1]);
    await compare('llava_onevision', [testImage(30, 14, 10), testImage(9, 21, 11)], { ...OV_CFG, image_mean: CLIP_MEAN, image_std: CLIP_STD }, true);
  });

  it('LLaVA-NeXT with a shortest edge above the crop (every crop resized, then centre-cropped), BILINEAR, LANCZOS', async () => {
    await compare('llava_next', [testImage(40, 23, 12), testImage(9, 31, 13)], { ...NEXT_CFG, size: { shortest_edge: 20 } });
    await compare('llava_next', [testImage(40, 23, 14)], { ...NEXT_CFG, resample: 2 });
    await compare('llava_onevision', [testImage(37, 19, 15)], { ...OV_CFG, resample: 1 });
  });

  it('real-size crops: NeXT at 336 px and OneVision at 384 px (640x480 -> 2 x 2 crops + base)', async () => {
    const next = { ...NEXT_CFG, crop_size: { height: 336, width: 336 }, size: { shortest_edge: 336 }, image_grid_pinpoints: [[336, 672], [672, 336], [672, 672], [1008, 336], [336, 1008]] };
    expect(await compare('llava_next', [testImage(640, 480, 16)], next)).toEqual([5]);
    const ov = { ...OV_CFG, size: { height: 384, width: 384 }, image_grid_pinpoints: Array.from({ length: 36 }, (_, i) => [384 * (Math.floor(i / 6) + 1), 384 * ((i % 6) + 1)]) };
    expect(await compare('llava_onevision', [testImage(640, 480, 17)], ov)).toEqual([5]);
  });
});

describe('anyres sizes and config', () => {
  it('select_best_resolution and get_patch_output_size (VLM_FAMILIES.md 3.6 worked examples)', () => {
    const next: [number, number][] = [[336, 672], [672, 336], [672, 672], [1008, 336], [336, 1008]];
    expect(selectBestResolution(480, 640, next)).toEqual([672, 672]);
    expect(patchOutputSize(480, 640, [672, 672])).toEqual([504, 672]);
    expect(selectBestResolution(336, 336, next)).toEqual([336, 672]); // tie in kept area and waste: the first
    expect(patchOutputSize(336, 336, [336, 672])).toEqual([336, 336]);
    expect(patchOutputSize(23, 40, [32, 32])).toEqual([19, 32]); // ceil(23 * 0.8) = 19
  });

  it('the crops of one image: [base, row-major crops], black padding centred, the odd pixel bottom/right', () => {
    const cfg = parseAnyresImageProcessorConfig(NEXT_CFG, 'llava_next');
    const img = { width: 40, height: 23, data: new Uint8Array(40 * 23 * 3).fill(200), source: 'grey' };
    const crops = anyresCrops(img, cfg); // 32 x 32 target, resized to 19 x 32: 6 rows of black on top, 7 below
    expect(crops.map((c) => [c.width, c.height])).toEqual([[16, 16], [16, 16], [16, 16], [16, 16], [16, 16]]);
    const px = (c: RgbImage, x: number, y: number): number => c.data[(y * c.width + x) * 3]!;
    expect([px(crops[1]!, 5, 5), px(crops[1]!, 5, 6)]).toEqual([0, 200]);
    expect([px(crops[3]!, 5, 8), px(crops[3]!, 5, 9)]).toEqual([200, 0]); // rows 25.. of 32 are padding: 6 + 19 = 25
    expect(px(crops[0]!, 8, 0)).toBe(200); // the base crop is squashed, never padded
    const sq = padToSquare({ width: 3, height: 1, data: new Uint8Array(9).fill(9), source: 's' }, [0.5, 0.48145466, 0]);
    expect(Array.from(sq.data.subarray(0, 3))).toEqual([127, 122, 0]);
    expect(Array.from(sq.data.subarray(9, 12))).toEqual([9, 9, 9]);
  });

  it('defaults and refusals of preprocessor_config.json', () => {
    // the class defaults pair 224 px crops with 336-based pinpoints: refused (the crops would not tile them)
    expect(() => parseAnyresImageProcessorConfig({}, 'llava_next', 'pp.json')).toThrow(/image_grid_pinpoints: \[336, 672\] is not a multiple of the crop side 224/);
    const next = parseAnyresImageProcessorConfig({ crop_size: 336, size: 336 }, 'llava_next');
    expect(next).toMatchObject({ size: { mode: 'shortest_edge', shortestEdge: 336 }, tile: 336, doCenterCrop: true, resample: 'bicubic', imageMean: CLIP_MEAN, doRescale: true, doNormalize: true });
    expect(next.imageGridPinpoints).toEqual([[336, 672], [672, 336], [672, 672], [1008, 336], [336, 1008]]);
    const ov = parseAnyresImageProcessorConfig({ size: 384 }, 'llava_onevision');
    expect(ov).toMatchObject({ size: { mode: 'exact', height: 384, width: 384 }, tile: 384, doCenterCrop: false, imageMean: CLIP_MEAN });
    expect(ov.imageGridPinpoints).toHaveLength(36);
    const bad = (raw: Record<string, unknown>, kind: LlavaNextModelType, re: RegExp): void => expect(() => parseAnyresImageProcessorConfig(raw, kind, 'pp.json')).toThrow(re);
    bad({ image_processor_type: 'CLIPImageProcessor' }, 'llava_next', /pp\.json: image_processor_type: "CLIPImageProcessor" is not a LLaVA-NeXT image processor/);
    bad({ size: { height: 16, width: 32 } }, 'llava_onevision', /size: 16x32 is not square/);
    bad({ do_center_crop: true }, 'llava_onevision', /do_center_crop: true is not supported/);
    bad({ crop_size: { height: 16, width: 20 } }, 'llava_next', /crop_size: 16x20 is not square/);
    bad({ size: { height: 16, width: 16 }, image_grid_pinpoints: [[16, 24]] }, 'llava_onevision', /\[16, 24\] is not a multiple of the crop side 16/);
    bad({ image_grid_pinpoints: [] }, 'llava_next', /image_grid_pinpoints: expected a non-empty list/);
    bad({ ...NEXT_CFG, resample: 0 }, 'llava_next', /NEAREST\) is not supported/);
    expect(() => preprocessAnyres([testImage(4, 4, 1)], next, true)).toThrow(ImageError);
  });
});
