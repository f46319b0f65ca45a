// The float64 Idefics vision reference against torch: bucketed position ids (torch.arange +
// torch.bucketize exactly as Idefics3VisionEmbeddings runs them, on full and partial grids), the pixel
// shuffle (the view/permute sequence of Idefics3Connector), and the whole image-feature path of the
// tiny checkpoint (padding-frame removal, "any" patch mask, conv + bucketed positions, masked SigLIP
// layers, post_layernorm, pixel shuffle, modality projection) written independently in torch float64,
// on a tiled + padded batch. Needs python3 with torch and numpy (python3-torch, python3-numpy); the
// torch comparisons are skipped without them.
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { rng } from '@mtv/kernels';
import { loadIdefics3Processor } from '../src/families/idefics3/prompt.js';
import { idefics3PixelShuffle, referenceIdefics3ImageFeatures } from '../src/families/idefics3/reference.js';
import { ideficsRealFrames as idefics3RealFrames } from '../src/families/idefics3/vision-reference.js';
import { writeTinyIdefics3, type Idefics3TinyCheckpoint } from '../src/families/idefics3/tiny.js';
import { bucketedPositionIds, ideficsPatchMask, idefics3PatchMask, torchArangeF32 } from '../src/families/idefics3/vision-reference.js';
import { idefics3CanonicalName } from '../src/families/idefics3/weights.js';
import type { RgbImage } from '../src/image/types.js';
import { SafetensorsFile } from '../src/safetensors/reader.js';
import { loadTokenizer } from '../src/tokenizer/tokenizer.js';
import { findPython, runPython } from './python-oracle.js';
import { useTempDir } from './temp-dir.js';

let tmp = '';
useTempDir('idefics3-vision-', (d) => (tmp = d));

const PY = findPython(['torch', 'numpy']);
if (!PY) console.warn('idefics3-vision.test.ts: torch oracle SKIPPED: no python3 with torch and numpy (apt-get install python3-torch python3-numpy)');

/**
 * torch's float32 vector width on this machine: 16 lanes with AVX512 kernels, else 8 (AVX2, NEON, generic).
 * torch reports the capability ATEN_CPU_CAPABILITY asks for even on a CPU without it (an AMD EPYC
 * without avx512f says AVX512, then dies of SIGILL in the first vector op), so a vector op must run.
 */
function torchLanes(env: Record<string, string> = {}): { lanes: number; capability: string } {
  let cap = 'unknown';
  try {
    cap = /CPU capability usage: (\S+)/.exec(runPython(PY!, 'import torch; torch.arange(0, 1, 1 / 7).sum(); print(torch.__config__.show())', [], env))?.[1] ?? 'unknown';
  } catch {
    cap = 'unusable';
  }
  return { lanes: cap.startsWith('AVX512') ? 16 : 8, capability: cap };
}

// Idefics3VisionEmbeddings.forward's position-id loop, verbatim, on rectangle masks.
const BUCKET_ORACLE = `
import json, sys, torch
out = []
for N, gh, gw, nbh, nbw in json.load(open(sys.argv[1])):
    p_attn_mask = torch.zeros(gh, gw, dtype=torch.bool)
    p_attn_mask[:nbh, :nbw] = True
    boundaries = torch.arange(1 / N, 1.0, 1 / N)
    position_ids = torch.full(size=(gh * gw,), fill_value=0)
    nb_patches_h = p_attn_mask[:, 0].sum()
    nb_patches_w = p_attn_mask[0].sum()
    fractional_coords_h = torch.arange(0, 1 - 1e-6, 1 / nb_patches_h)
    fractional_coords_w = torch.arange(0, 1 - 1e-6, 1 / nb_patches_w)
    bucket_coords_h = torch.bucketize(fractional_coords_h, boundaries, right=True)
    bucket_coords_w = torch.bucketize(fractional_coords_w, boundaries, right=True)
    pos_ids = (bucket_coords_h[:, None] * N + bucket_coords_w).flatten()
    position_ids[p_attn_mask.view(-1)] = pos_ids
    out.append({'ids': position_ids.tolist(), 'boundaries': boundaries.tolist(), 'frac_h': fractional_coords_h.tolist()})
print(json.dumps(out))
`;

function rectMask(gh: number, gw: number, nbh: number, nbw: number): Uint8Array {
  const m = new Uint8Array(gh * gw);
  for (let r = 0; r < nbh; r++) m.fill(1, r * gw, r * gw + nbw);
  return m;
}

describe.skipIf(!PY)('bucketed position ids against torch.arange + torch.bucketize', () => {
  const cases: [number, number, number, number, number][] = [];
  for (const N of [4, 6, 7, 19, 27, 32, 40]) {
    cases.push([N, N, N, N, N]); // a full tile: the identity
    cases.push([N, N, N, Math.max(1, N - 1), Math.ceil(N / 2)]);
    cases.push([N, N + 2, N + 1, 1, N]);
  }
  // N = 70 (Idefics2's 980 / 14): the partial grids where the vector width changes buckets.
  for (const nb of [49, 58, 35, 70]) cases.push([70, 70, 70, nb, nb]);
  // Larger padded canvases with partial grids of every size up to 40 for SmolVLM-256M's N = 32.
  for (let nb = 1; nb <= 40; nb += 3) cases.push([32, 40, 40, nb, 41 - nb]);

  const check = async (env: Record<string, string>, tag: string): Promise<void> => {
    const { lanes } = torchLanes(env);
    const file = join(tmp, `bucket-${tag}.json`);
    await writeFile(file, JSON.stringify(cases));
    const got = JSON.parse(runPython(PY!, BUCKET_ORACLE, [file], env)) as { ids: number[]; boundaries: number[]; frac_h: number[] }[];
    cases.forEach(([N, gh, gw, nbh, nbw], i) => {
      const ours = bucketedPositionIds(rectMask(gh, gw, nbh, nbw), gh, gw, N, lanes);
      expect(Array.from(ours), `N ${N}, grid ${gh}x${gw}, valid ${nbh}x${nbw}, ${lanes} lanes`).toEqual(got[i]!.ids);
      expect(Array.from(torchArangeF32(1 / N, 1, 1 / N, lanes)), `boundaries N ${N}`).toEqual(got[i]!.boundaries);
      expect(Array.from(torchArangeF32(0, 1 - 1e-6, Math.fround(1 / nbh), lanes)), `coords nb ${nbh}`).toEqual(got[i]!.frac_h);
    });
  };

  it("with torch's default kernels", async () => {
    await check({}, 'default');
  });

  it('with AVX512 kernels (16 lanes), where the CPU has them', async (ctx) => {
    if (!torchLanes({ ATEN_CPU_CAPABILITY: 'avx512' }).capability.startsWith('AVX512')) ctx.skip();
    await check({ ATEN_CPU_CAPABILITY: 'avx512' }, 'avx512');
  });
});

describe('bucketed position ids and patch masks (no torch)', () => {
  it('a full tile is the identity; padded patches get 0', () => {
    expect(Array.from(bucketedPositionIds(new Uint8Array(16).fill(1), 4, 4, 4))).toEqual(Array.from({ length: 16 }, (_, i) => i));
    // 2 valid rows x 3 valid columns of a 4 x 4 grid: rows spread to buckets 0, 2; columns 0, 1, 2 (int(4 * k / 3)).
    expect(Array.from(bucketedPositionIds(rectMask(4, 4, 2, 3), 4, 4, 4))).toEqual([0, 1, 2, 0, 8, 9, 10, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    expect(Array.from(bucketedPositionIds(new Uint8Array(4), 2, 2, 4))).toEqual([0, 0, 0, 0]);
    expect(() => bucketedPositionIds(Uint8Array.from([1, 0, 0, 1]), 2, 2, 4)).toThrow(/do not form the 1 x 1 rectangle/);
  });

  it('patch masks: any pixel (Idefics3) or all pixels (Idefics2) of each P x P block; remainders dropped', () => {
    const H = 10;
    const W = 9;
    const m = new Uint8Array(H * W);
    for (let y = 0; y < 5; y++) m.fill(1, y * W, y * W + 7); // a 7 x 5 real region
    expect(Array.from(idefics3PatchMask(m, 1, H, W, 4))).toEqual([1, 1, 1, 1]); // 2 x 2 blocks, any
    expect(Array.from(ideficsPatchMask(m, 1, H, W, 4, 'all'))).toEqual([1, 0, 0, 0]);
  });

  it('padding frames (all 0.0) are dropped, keeping the first when every frame is padding', () => {
    expect(idefics3RealFrames(Float64Array.from([0, 0, 1, 0, 0, 0, 0, -2]), 4)).toEqual([1, 3]);
    expect(idefics3RealFrames(new Float64Array(6), 3)).toEqual([0]);
  });

  it('the pixel shuffle closed form: Y[I w/s + J, (m s + k) D + d] = X[(I s + m) w + J s + k, d]', () => {
    const D = 2;
    const X = Float64Array.from({ length: 16 * D }, (_, i) => i);
    const Y = idefics3PixelShuffle(X, 16, D, 2);
    // Output token 1 (I = 0, J = 1) gathers patches (0, 2), (0, 3), (1, 2), (1, 3) of the 4 x 4 grid.
    expect(Array.from(Y.subarray(1 * 8, 2 * 8))).toEqual([2 * D, 2 * D + 1, 3 * D, 3 * D + 1, 6 * D, 6 * D + 1, 7 * D, 7 * D + 1]);
    expect(() => idefics3PixelShuffle(new Float64Array(12 * D), 12, D, 2)).toThrow(/not a square grid/);
  });
});

// Idefics3's image features in torch float64, from the modeling code's operations (not imported).
const FEATURES_ORACLE = `
import json, math, struct, sys
import numpy as np, torch
import torch.nn.functional as F
spec = json.load(open(sys.argv[1]))
raw = open(spec['weights'], 'rb').read()
n = struct.unpack('<Q', raw[:8])[0]
header = json.loads(raw[8:8 + n])
W = {}
for name, info in header.items():
    if name == '__metadata__':
        continue
    a, b = info['data_offsets']
    assert info['dtype'] == 'F32'
    W[name] = torch.from_numpy(np.frombuffer(raw[8 + n + a:8 + n + b], dtype=np.float32).astype(np.float64).reshape(info['shape']))
cfg = spec['config']
P, D, heads, S, s, eps = cfg['patch'], cfg['hidden'], cfg['heads'], cfg['image_size'], cfg['scale'], cfg['eps']
N = S // P
def run(case):
    shape = case['shape']
    pixel_values = torch.from_numpy(np.fromfile(case['pixels'], dtype=np.float64).reshape(shape))
    pixel_attention_mask = None if case['mask'] is None else torch.from_numpy(np.fromfile(case['mask'], dtype=np.uint8).reshape(shape[0], shape[2], shape[3]).astype(bool))
    nb_values_per_image = pixel_values.shape[1:].numel()
    real_images_inds = (pixel_values == 0.0).sum(dim=(-1, -2, -3)) != nb_values_per_image
    if not any(real_images_inds):
        real_images_inds[0] = True
    pixel_values = pixel_values[real_images_inds].contiguous()
    if pixel_attention_mask is None:
        pixel_attention_mask = torch.ones(size=(pixel_values.size(0), pixel_values.size(2), pixel_values.size(3)), dtype=torch.bool)
    else:
        pixel_attention_mask = pixel_attention_mask[real_images_inds].contiguous()
    patches_subgrid = pixel_attention_mask.unfold(dimension=1, size=P, step=P)
    patches_subgrid = patches_subgrid.unfold(dimension=2, size=P, step=P)
    patch_attention_mask = (patches_subgrid.sum(dim=(-1, -2)) > 0).bool()
    V = 'model.vision_model.'
    batch_size, _, max_im_h, max_im_w = pixel_values.shape
    x = F.conv2d(pixel_values, W[V + 'embeddings.patch_embedding.weight'], W[V + 'embeddings.patch_embedding.bias'], stride=P)
    x = x.flatten(2).transpose(1, 2)
    boundaries = torch.arange(1 / N, 1.0, 1 / N)
    position_ids = torch.full(size=(batch_size, (max_im_h // P) * (max_im_w // P)), fill_value=0)
    for batch_idx, p_attn_mask in enumerate(patch_attention_mask):
        nb_patches_h = p_attn_mask[:, 0].sum()
        nb_patches_w = p_attn_mask[0].sum()
        fh = torch.arange(0, 1 - 1e-6, 1 / nb_patches_h)
        fw = torch.arange(0, 1 - 1e-6, 1 / nb_patches_w)
        bh = torch.bucketize(fh, boundaries, right=True)
        bw = torch.bucketize(fw, boundaries, right=True)
        position_ids[batch_idx][p_attn_mask.view(-1)] = (bh[:, None] * N + bw).flatten()
    x = x + W[V + 'embeddings.position_embedding.weight'][position_ids]
    pam = patch_attention_mask.view(batch_size, -1)
    if not torch.any(~pam):
        attn_mask = None
    else:
        inverted = 1.0 - pam[:, None, None, :].expand(batch_size, 1, pam.shape[1], pam.shape[1]).to(torch.float64)
        attn_mask = inverted.masked_fill(inverted.to(torch.bool), torch.finfo(torch.float64).min)
    B, L, _ = x.shape
    hd = D // heads
    def lin(t, name, bias=True):
        return F.linear(t, W[name + '.weight'], W[name + '.bias'] if bias else None)
    for i in range(cfg['layers']):
        p = V + 'encoder.layers.%d.' % i
        h = F.layer_norm(x, (D,), W[p + 'layer_norm1.weight'], W[p + 'layer_norm1.bias'], eps)
        q = lin(h, p + 'self_attn.q_proj').view(B, L, heads, hd).transpose(1, 2)
        k = lin(h, p + 'self_attn.k_proj').view(B, L, heads, hd).transpose(1, 2)
        v = lin(h, p + 'self_attn.v_proj').view(B, L, heads, hd).transpose(1, 2)
        a = torch.matmul(q, k.transpose(2, 3)) * hd ** -0.5
        if attn_mask is not None:
            a = a + attn_mask
        a = F.softmax(a, dim=-1)
        o = torch.matmul(a, v).transpose(1, 2).reshape(B, L, D)
        x = x + lin(o, p + 'self_attn.out_proj')
        h = F.layer_norm(x, (D,), W[p + 'layer_norm2.weight'], W[p + 'layer_norm2.bias'], eps)
        x = x + lin(F.gelu(lin(h, p + 'mlp.fc1'), approximate='tanh'), p + 'mlp.fc2')
    x = F.layer_norm(x, (D,), W[V + 'post_layernorm.weight'], W[V + 'post_layernorm.bias'], eps)
    # Idefics3Connector.pixel_shuffle + modality_projection
    bsz, seq, embed_dim = x.size()
    height = width = int(seq ** 0.5)
    x = x.view(bsz, height, width, embed_dim)
    x = x.view(bsz, height, int(width / s), embed_dim * s)
    x = x.permute(0, 2, 1, 3)
    x = x.reshape(bsz, int(width / s), int(height / s), embed_dim * (s ** 2))
    x = x.permute(0, 2, 1, 3)
    x = x.reshape(bsz, int(seq / (s ** 2)), embed_dim * (s ** 2))
    y = F.linear(x, W['model.connector.modality_projection.proj.weight'])
    y.reshape(-1).numpy().astype(np.float64).tofile(case['out'])
    return [int(real_images_inds.sum()), list(y.shape)]
print(json.dumps([run(c) for c in spec['cases']]))
`;

describe.skipIf(!PY)('Idefics3 image features against torch float64', () => {
  let ck: Idefics3TinyCheckpoint;
  let tensors: Map<string, Float64Array>;
  beforeAll(async () => {
    ck = await writeTinyIdefics3(join(tmp, 'tiny'), { seed: 5 });
    const f = await SafetensorsFile.open(join(ck.dir, 'model.safetensors'));
    tensors = new Map();
    try {
      for (const name of f.names()) tensors.set(idefics3CanonicalName(name)!, await f.readF64(name));
    } finally {
      await f.close();
    }
  });

  it('a tiled image plus a padded frame and a padding frame: the same features to 1e-12', async () => {
    const tok = await loadTokenizer(ck.dir);
    const proc = await loadIdefics3Processor(ck.dir, ck.config, tok);
    const r = rng(17);
    const data = new Uint8Array(40 * 30 * 3).map(() => Math.floor(r() * 256));
    const img: RgbImage = { width: 40, height: 30, data, source: 'noise 40x30' };
    const prepared = await proc.prepare({ text: '<image>', images: [img] });
    const px = prepared.pixels!;
    const [n, C, H, W] = px.shape;
    expect([n, C, H, W]).toEqual([10, 3, 32, 32]);
    // Case 1: the processor's 10 frames, no mask (every patch valid: no attention mask at all).
    const tiles = Float64Array.from(px.data);
    // Case 2: frame 0, an all-zero padding frame (dropped), a frame real on 20 x 13 px (partial 2 x 3
    // patch grid under the "any" rule) with noise there and zeros elsewhere, then the global frame.
    const frame = C * H * W;
    const batch = new Float64Array(4 * frame);
    const mask = new Uint8Array(4 * H * W);
    batch.set(tiles.subarray(0, frame), 0);
    mask.fill(1, 0, H * W);
    for (let c = 0; c < C; c++)
      for (let y = 0; y < 13; y++)
        for (let x = 0; x < 20; x++) batch[2 * frame + (c * H + y) * W + x] = 4 * r() - 2;
    for (let y = 0; y < 13; y++) mask.fill(1, 2 * H * W + y * W, 2 * H * W + y * W + 20);
    batch.set(tiles.subarray(9 * frame, 10 * frame), 3 * frame);
    mask.fill(1, 3 * H * W, 4 * H * W);

    const cases = [
      { data: tiles, shape: [10, C, H, W] as [number, number, number, number], mask: undefined as Uint8Array | undefined },
      { data: batch, shape: [4, C, H, W] as [number, number, number, number], mask },
    ];
    const v = ck.config.vision;
    const spec = {
      weights: join(ck.dir, 'model.safetensors'),
      config: { patch: v.patchSize, hidden: v.hiddenSize, heads: v.numHeads, image_size: v.imageSize, scale: ck.config.scaleFactor, eps: v.layerNormEps, layers: v.numLayers },
      cases: [] as { shape: number[]; pixels: string; mask: string | null; out: string }[],
    };
    for (const [i, c] of cases.entries()) {
      const pixels = join(tmp, `px${i}.f64`);
      await writeFile(pixels, new Uint8Array(c.data.buffer));
      let maskFile: string | null = null;
      if (c.mask) await writeFile((maskFile = join(tmp, `mask${i}.u8`)), c.mask);
      spec.cases.push({ shape: c.shape, pixels, mask: maskFile, out: join(tmp, `out${i}.f64`) });
    }
    await writeFile(join(tmp, 'features.json'), JSON.stringify(spec));
    const info = JSON.parse(runPython(PY!, FEATURES_ORACLE, [join(tmp, 'features.json')])) as [number, number[]][];
    const Dt = ck.config.text.hiddenSize;
    const S = ck.config.imageSeqLen;
    expect(info).toEqual([[10, [10, S, Dt]], [3, [3, S, Dt]]]);
    for (const [i, c] of cases.entries()) {
      const ours = referenceIdefics3ImageFeatures({ config: ck.config, tensors }, c.mask ? { data: c.data, shape: c.shape, mask: c.mask } : { data: c.data, shape: c.shape });
      const buf = await readFile(spec.cases[i]!.out);
      const theirs = new Float64Array(buf.buffer, buf.byteOffset, buf.byteLength / 8);
      expect(ours.length).toBe(theirs.length);
      let maxDiff = 0;
      let maxAbs = 0;
      for (let j = 0; j < ours.length; j++) {
        maxDiff = Math.max(maxDiff, Math.abs(ours[j]! - theirs[j]!));
        maxAbs = Math.max(maxAbs, Math.abs(theirs[j]!));
      }
      expect(maxAbs).toBeGreaterThan(0.1);
      expect(maxDiff, `case ${i}`).toBeLessThan(1e-12);
    }
    // The padded frame's features differ from what the same pixels give unmasked (the mask matters).
    const unmasked = referenceIdefics3ImageFeatures({ config: ck.config, tensors }, { data: batch, shape: [4, C, H, W] });
    const masked = referenceIdefics3ImageFeatures({ config: ck.config, tensors }, { data: batch, shape: [4, C, H, W], mask });
    expect(unmasked.subarray(S * Dt, 2 * S * Dt)).not.toEqual(masked.subarray(S * Dt, 2 * S * Dt));
    expect(unmasked.subarray(0, S * Dt)).toEqual(masked.subarray(0, S * Dt));
  });
});
