// VILA-1.5's image preprocessing (mm_utils.process_image + SiglipImageProcessor) against an independent
// Pillow + numpy oracle written from NVlabs/VILA's code: 'resize' is image.resize((h, w)) with Pillow's
// default filter, 'pad' is expand2square with int(mean * 255) and the image pasted at ((W - w) // 2,
// (H - h) // 2), absent is the SigLIP processor alone (its own resize with resample 3); then rescale
// (float64 product cast to float32) and normalise (float32). Pixel values must be bit-identical.
// Needs python3 with Pillow and numpy (python3-pil, python3-numpy); skipped without them.
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { rng } from '@mtv/kernels';
import { resolvePreprocessorConfig } from '../src/image/config.js';
import type { RgbImage } from '../src/image/types.js';
import { expandToSquare, parseVilaConfig, vilaPixels, type VilaConfig } from '../src/families/vila/index.js';
import { findPython, runPython, skipReason } from './python-oracle.js';
import { useTempDir } from './temp-dir.js';

let tmp = '';
useTempDir('vila-image-', (d) => (tmp = d));

const MODULES = ['PIL', 'numpy'];
const PY = findPython(MODULES);
if (!PY) console.warn(`vila-image.test.ts: Pillow oracle SKIPPED: ${skipReason(MODULES)}`);

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

// process_image of VILA (llava/mm_utils.py) with SiglipImageProcessor.preprocess, in Pillow + numpy.
const ORACLE = `
import json, sys
import numpy as np
from PIL import Image
spec = json.load(open(sys.argv[1]))
pp = spec['pp']
img = Image.frombytes('RGB', (spec['w'], spec['h']), open(spec['file'], 'rb').read()).convert('RGB')
mode = spec['mode']
size = pp['size']
if mode == 'resize':
    img = img.resize((size['height'], size['width']))  # Pillow's default filter, as VILA calls it
if mode == 'pad':
    def expand2square(pil_img, background_color):
        width, height = pil_img.size
        if width == height:
            return pil_img
        elif width > height:
            result = Image.new(pil_img.mode, (width, width), background_color)
            result.paste(pil_img, (0, (width - height) // 2))
            return result
        else:
            result = Image.new(pil_img.mode, (height, height), background_color)
            result.paste(pil_img, ((height - width) // 2, 0))
            return result
    img = expand2square(img, tuple(int(x * 255) for x in pp['image_mean']))
# SiglipImageProcessor: resize to (height, width) with resample, rescale, normalize, channels first
if (img.width, img.height) != (size['width'], size['height']):
    img = img.resize((size['width'], size['height']), resample=pp['resample'])
x = np.array(img).transpose(2, 0, 1)
x = (x.astype(np.float64) * pp['rescale_factor']).astype(np.float32)
m = np.array(pp['image_mean'], dtype=np.float32)[:, None, None]
s = np.array(pp['image_std'], dtype=np.float32)[:, None, None]
x = ((x - m) / s).astype(np.float32)
open(spec['out'], 'wb').write(x.tobytes())
`;

const PP = {
  do_normalize: true, do_rescale: true, do_resize: true, image_mean: [0.5, 0.5, 0.5], image_std: [0.5, 0.5, 0.5],
  image_processor_type: 'SiglipImageProcessor', resample: 3, rescale_factor: 0.00392156862745098, size: { height: 40, width: 40 },
};

const vision = { model_type: 'siglip_vision_model', architectures: ['SiglipVisionModel'], hidden_size: 32, intermediate_size: 64, num_hidden_layers: 2, num_attention_heads: 4, image_size: 40, patch_size: 8 };
function config(aspect: string | null): VilaConfig {
  return parseVilaConfig({
    model_type: 'llava_llama', architectures: ['LlavaLlamaModel'], ...(aspect === null ? {} : { image_aspect_ratio: aspect }),
    mm_vision_select_feature: 'cls_patch', mm_vision_select_layer: -2,
    llm_cfg: { model_type: 'llama', architectures: ['LlamaForCausalLM'], hidden_size: 64, intermediate_size: 128, num_hidden_layers: 1, num_attention_heads: 4, vocab_size: 300 },
    vision_tower_cfg: vision,
    mm_projector_cfg: { model_type: 'v2l_projector', mm_projector_type: 'mlp_downsample' },
  }, 'test config.json');
}

let caseNo = 0;
async function compare(img: RgbImage, aspect: string | null, pp: Record<string, unknown> = PP): Promise<void> {
  const k = caseNo++;
  const file = join(tmp, `in${k}.rgb`);
  await writeFile(file, img.data);
  const mode = aspect ?? 'processor';
  const spec = { pp, w: img.width, h: img.height, file, mode, out: join(tmp, `out${k}.f32`) };
  await writeFile(join(tmp, `spec${k}.json`), JSON.stringify(spec));
  runPython(PY!, ORACLE, [join(tmp, `spec${k}.json`)]);
  const ours = await vilaPixels(img, config(aspect), resolvePreprocessorConfig(pp, 'test preprocessor_config.json'));
  const theirs = await readFile(spec.out);
  const mine = Buffer.from(ours.buffer, ours.byteOffset, ours.byteLength);
  if (!mine.equals(theirs)) {
    const b = new Float32Array(theirs.buffer, theirs.byteOffset, theirs.byteLength / 4);
    const first = ours.findIndex((v, i) => v !== b[i]);
    throw new Error(`${mode} ${img.width}x${img.height}: pixels differ (${ours.length} vs ${b.length} values); first at ${first}: ours ${ours[first]}, Pillow ${b[first]}`);
  }
}

describe.skipIf(!PY)('VILA image preprocessing vs Pillow', () => {
  it("image_aspect_ratio 'resize': downscale, upscale, non-square, square", async () => {
    await compare(testImage(97, 61, 1), 'resize');
    await compare(testImage(13, 29, 2), 'resize');
    await compare(testImage(40, 40, 3), 'resize');
    await compare(testImage(250, 250, 4), 'resize');
    // VILA's own resize is bicubic whatever the processor's resample; the processor's resize is then a no-op
    await compare(testImage(97, 61, 1), 'resize', { ...PP, resample: 2 });
  });

  it("image_aspect_ratio 'pad': wide and tall with odd differences, then the SigLIP resize", async () => {
    await compare(testImage(71, 30, 5), 'pad');
    await compare(testImage(22, 57, 6), 'pad');
    await compare(testImage(40, 40, 7), 'pad');
    // a non-0.5 mean gives a different background
    await compare(testImage(50, 33, 8), 'pad', { ...PP, image_mean: [0.48145466, 0.4578275, 0.40821073], image_std: [0.26862954, 0.26130258, 0.27577711] });
  });

  it('no image_aspect_ratio: the SigLIP processor alone (resample from its config)', async () => {
    await compare(testImage(64, 45, 9), null);
    await compare(testImage(64, 45, 9), null, { ...PP, resample: 2 });
  });
});

describe('expandToSquare', () => {
  it('centres the image with (long - short) // 2 and fills the rest', () => {
    const img: RgbImage = { width: 3, height: 2, data: Uint8Array.from({ length: 18 }, (_, i) => i + 1), source: 't' };
    const sq = expandToSquare(img, [9, 8, 7]);
    expect([sq.width, sq.height]).toEqual([3, 3]);
    // (3 - 2) // 2 = 0: the image is at the top, the bottom row is background
    expect(Array.from(sq.data.subarray(0, 18))).toEqual(Array.from(img.data));
    expect(Array.from(sq.data.subarray(18))).toEqual([9, 8, 7, 9, 8, 7, 9, 8, 7]);
    const tall = expandToSquare({ width: 1, height: 3, data: new Uint8Array(9).fill(1), source: 't' }, [0, 0, 0]);
    // (3 - 1) // 2 = 1: the column is in the middle
    expect(Array.from(tall.data.subarray(0, 9))).toEqual([0, 0, 0, 1, 1, 1, 0, 0, 0]);
  });
});
