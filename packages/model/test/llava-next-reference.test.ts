// The float64 pack_image_features (reference.ts) against an independent torch float64 oracle written
// from modeling_llava_next.py / modeling_llava_onevision.py's tensor ops (view, permute, flatten,
// unpad_image's slicing, nn.functional.interpolate bilinear, the newline column, base first), on
// random crop features of images that exercise row and column unpadding, pooling (integer and
// fractional ratios) and the single view. Needs python3 with torch and numpy; skipped without them.
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { rng } from '@mtv/kernels';
import { anyresLayout, anyresTileCount, parseLlavaNextConfig, referencePackImageFeatures, type AnyresImage } from '../src/index.js';
import { findPython, runPython, skipReason } from './python-oracle.js';
import { useTempDir } from './temp-dir.js';

let tmp = '';
useTempDir('llava-next-ref-', (d) => (tmp = d));

const MODULES = ['torch', 'numpy'];
const PY = findPython(MODULES);
if (!PY) console.warn(`llava-next-reference.test.ts: torch oracle SKIPPED: ${skipReason(MODULES)}`);

const ORACLE = `
import sys, json, math
import numpy as np, torch
import torch.nn.functional as F
spec = json.load(open(sys.argv[1]))
t, D, S = spec['t'], spec['D'], spec['image_size']
pinpoints = spec['pinpoints']
feats = torch.from_numpy(np.fromfile(spec['feats'], dtype=np.float64).reshape(-1, t * t, D))
newline = torch.from_numpy(np.fromfile(spec['newline'], dtype=np.float64))
def best_resolution(size):
    h, w = size
    best, max_eff, min_waste = None, 0, float('inf')
    for H, W in pinpoints:
        scale = min(W / w, H / h)
        eff = min(int(w * scale) * int(h * scale), w * h)
        waste = W * H - eff
        if eff > max_eff or (eff == max_eff and waste < min_waste):
            max_eff, min_waste, best = eff, waste, (H, W)
    return best
def unpad(x, size):
    h, w = size
    ch, cw = x.shape[1:]
    if w / h > cw / ch:
        nh = int(round(h * (cw / w), 7)); p = (ch - nh) // 2
        return x[:, p:ch - p, :]
    nw = int(round(w * (ch / h), 7)); p = (cw - nw) // 2
    return x[:, :, p:cw - p]
out, k = [], 0
for im in spec['images']:
    f = feats[k:k + im['tiles']]; k += im['tiles']
    if f.shape[0] > 1:
        base, f = f[0], f[1:]
        H, W = best_resolution((im['h'], im['w']))
        f = f.view(H // S, W // S, t, t, -1).permute(4, 0, 2, 1, 3).contiguous().flatten(1, 2).flatten(2, 3)
        f = unpad(f, (im['h'], im['w']))
        if spec['max_num_patches'] is not None:
            c, ch, cw = f.shape
            ratio = math.sqrt(ch * cw / (spec['max_num_patches'] * t ** 2))
            if ratio > 1.1:
                f = F.interpolate(f[None], [int(ch // ratio), int(cw // ratio)], mode='bilinear')[0]
        f = torch.cat((f, newline[:, None, None].expand(*f.shape[:-1], 1)), dim=-1)
        f = f.flatten(1, 2).transpose(0, 1)
        out.append(torch.cat((base, f), dim=0))
    else:
        out.append(torch.cat((f[0], newline[None]), dim=0))
res = torch.cat(out, dim=0).contiguous().numpy()
res.astype(np.float64).tofile(spec['out'])
print(json.dumps({'rows': [int(o.shape[0]) for o in out]}))
`;

const NEXT = parseLlavaNextConfig({
  model_type: 'llava_next', image_token_index: 63, image_grid_pinpoints: [[16, 32], [32, 16], [32, 32], [48, 16], [16, 48]],
  vision_config: { model_type: 'clip_vision_model', hidden_size: 8, intermediate_size: 16, num_hidden_layers: 2, num_attention_heads: 2, image_size: 16, patch_size: 4 },
  text_config: { model_type: 'mistral', hidden_size: 8, intermediate_size: 12, num_hidden_layers: 1, num_attention_heads: 2, num_key_value_heads: 1, vocab_size: 64, sliding_window: null },
});
// OneVision at its real proportions: 27 x 27 crops (384 / 14), the 36 pinpoints, anyres_max_9;
// a narrow feature width keeps the oracle fast.
const OV = parseLlavaNextConfig({
  model_type: 'llava_onevision', image_token_index: 63, video_token_index: 62,
  vision_config: { hidden_size: 8, intermediate_size: 16, num_hidden_layers: 1, num_attention_heads: 2, image_size: 384, patch_size: 14 },
  text_config: { hidden_size: 4, intermediate_size: 8, num_hidden_layers: 1, num_attention_heads: 2, num_key_value_heads: 1, vocab_size: 64 },
});
const OV_TINY = parseLlavaNextConfig({
  model_type: 'llava_onevision', image_token_index: 63, vision_aspect_ratio: 'anyres_max_2', image_grid_pinpoints: Array.from({ length: 9 }, (_, i) => [16 * (Math.floor(i / 3) + 1), 16 * ((i % 3) + 1)]),
  vision_config: { hidden_size: 8, intermediate_size: 16, num_hidden_layers: 1, num_attention_heads: 2, image_size: 16, patch_size: 4 },
  text_config: { hidden_size: 8, intermediate_size: 12, num_hidden_layers: 1, num_attention_heads: 2, num_key_value_heads: 1, vocab_size: 64 },
});

let caseNo = 0;
/** Packs random crop features of images of these [width, height] (a third 1: a single view) both ways; `pooled`: which must pool. */
async function compare(c: typeof NEXT, sizes: Array<[number, number] | [number, number, 1]>, pooled: boolean[]): Promise<void> {
  const k = caseNo++;
  const images: AnyresImage[] = sizes.map(([w, h, single]) => ({ width: w, height: h, tiles: single ? 1 : anyresTileCount(h, w, { pinpoints: c.imageGridPinpoints, imageSize: c.vision.imageSize }) }));
  const g = { pinpoints: c.imageGridPinpoints, imageSize: c.vision.imageSize, gridSide: c.gridSide, maxNumPatches: c.maxNumPatches };
  expect(images.map((im) => anyresLayout(im, g).pooled !== null)).toEqual(pooled);
  const crops = images.reduce((a, im) => a + im.tiles, 0);
  const D = c.text.hiddenSize;
  const r = rng(100 + k);
  const feats = Float64Array.from({ length: crops * c.tokensPerCrop * D }, () => 2 * r() - 1);
  const newline = Float64Array.from({ length: D }, () => 2 * r() - 1);
  const spec = {
    t: c.gridSide, D, image_size: c.vision.imageSize, pinpoints: c.imageGridPinpoints, max_num_patches: c.maxNumPatches,
    images: images.map((im) => ({ h: im.height, w: im.width, tiles: im.tiles })),
    feats: join(tmp, `feats${k}.f64`), newline: join(tmp, `newline${k}.f64`), out: join(tmp, `out${k}.f64`),
  };
  await writeFile(spec.feats, feats);
  await writeFile(spec.newline, newline);
  await writeFile(join(tmp, `spec${k}.json`), JSON.stringify(spec));
  JSON.parse(runPython(PY!, ORACLE, [join(tmp, `spec${k}.json`)]));
  const buf = await readFile(spec.out);
  const theirs = new Float64Array(buf.buffer, buf.byteOffset, buf.byteLength / 8);
  const ours = referencePackImageFeatures(c, feats, images, newline);
  expect(ours.length).toBe(theirs.length);
  let err = 0;
  for (let i = 0; i < ours.length; i++) err = Math.max(err, Math.abs(ours[i]! - theirs[i]!));
  expect(err).toBeLessThan(1e-12);
}

describe.skipIf(!PY)('pack_image_features: float64 reference vs torch', () => {
  it('LLaVA-NeXT: landscape (rows unpadded), tall, upscaled small, square', async () => {
    await compare(NEXT, [[40, 23], [10, 40], [7, 5], [32, 32]], [false, false, false, false]);
  });
  it('OneVision at 27 x 27 crops: 640x480 and 1000x300 (unpadded, not pooled), 2304x2304 (ratio 2), 3000x1000 and 2000x1500 (fractional ratios)', async () => {
    await compare(OV, [[640, 480], [1000, 300]], [false, false]);
    await compare(OV, [[2304, 2304]], [true]);
    await compare(OV, [[3000, 1000], [2000, 1500]], [true, true]);
  });
  it('OneVision tiny: pooled and unpooled grids, a single view', async () => {
    await compare(OV_TINY, [[25, 30], [12, 40], [30, 14], [40, 20], [9, 21, 1]], [true, true, false, true, false]);
  });
});
