// Qwen2-VL / Qwen2.5-VL against independent torch float64 oracles written from modeling_qwen2_vl.py and
// modeling_qwen2_5_vl.py (not imported; transformers is not installed): the vision tower (Conv3d patch
// embed, rot_pos_emb, get_window_index + the hidden-state permutation and its argsort inverse, the
// block-diagonal attention masks of cu_seqlens / cu_window_seqlens, the blocks, the merger) on the
// tiny checkpoints' weights; get_rope_index; and apply_multimodal_rotary_pos_emb (the cos/sin split by
// mrope_section * 2, chunk i from component i % 3). Also get_rope_index on hand-derived prompts.
// Needs python3 with torch and numpy; the oracle parts are skipped without them.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { rng } from '@mtv/kernels';
import {
  applyMultimodalRope, loadReferenceModel, openCheckpoint, preprocessQwen2VL, qwen2VLRopeIndex, referenceQwen2VLImageFeatures,
  ropeDelta, writeTinyQwen2VL, type Qwen2VLConfig, type ReferenceTensors, type RgbImage,
} from '../src/index.js';
import { parseQwen2VLImageProcessorConfig } from '../src/families/qwen2-vl/image-processor.js';
import { findPython, runPython, skipReason } from './python-oracle.js';
import { useTempDir } from './temp-dir.js';

let tmp = '';
useTempDir('qwen2vl-oracle-', (d) => (tmp = d));

const MODULES = ['torch', 'numpy'];
const PY = findPython(MODULES);
if (!PY) console.warn(`qwen2-vl-oracle.test.ts: torch oracles SKIPPED: ${skipReason(MODULES)}`);

const ORACLE = String.raw`
import json, struct, sys
import numpy as np
import torch
import torch.nn.functional as F
torch.set_default_dtype(torch.float64)
spec = json.load(open(sys.argv[1]))
out = {}

def load(path):
    b = open(path, 'rb').read()
    n = struct.unpack('<Q', b[:8])[0]
    hdr = json.loads(b[8:8 + n])
    res = {}
    for k, v in hdr.items():
        if k == '__metadata__':
            continue
        s, e = v['data_offsets']
        res[k] = torch.from_numpy(np.frombuffer(b[8 + n + s:8 + n + e], dtype=np.float32).copy()).reshape(v['shape']).double()
    return res

def rotate_half(x):
    x1 = x[..., : x.shape[-1] // 2]
    x2 = x[..., x.shape[-1] // 2 :]
    return torch.cat((-x2, x1), dim=-1)

if 'vision' in spec:
    vs = spec['vision']
    W = load(vs['weights'])
    q25 = vs['variant'] == 'qwen2_5_vl'
    E, heads, P, T, m = vs['hidden'], vs['heads'], vs['patch'], vs['temporal'], vs['merge']
    hd = E // heads
    grid = torch.tensor(vs['grids'])
    x = torch.from_numpy(np.fromfile(vs['pixels'], dtype=np.float32)).double()
    x = x.view(-1, 3, T, P, P)
    h = F.conv3d(x, W['visual.patch_embed.proj.weight'], stride=(T, P, P)).view(-1, E)
    # rot_pos_emb
    pos_ids = []
    for t, hh, ww in grid.tolist():
        hpos = torch.arange(hh).unsqueeze(1).expand(-1, ww).reshape(hh // m, m, ww // m, m).permute(0, 2, 1, 3).flatten()
        wpos = torch.arange(ww).unsqueeze(0).expand(hh, -1).reshape(hh // m, m, ww // m, m).permute(0, 2, 1, 3).flatten()
        pos_ids.append(torch.stack([hpos, wpos], dim=-1).repeat(t, 1))
    pos_ids = torch.cat(pos_ids, dim=0)
    dim = hd // 2
    inv_freq = 1.0 / (10000 ** (torch.arange(0, dim, 2, dtype=torch.float64) / dim))
    freqs = torch.outer(torch.arange(int(grid[:, 1:].max()), dtype=torch.float64), inv_freq)
    rot = freqs[pos_ids].flatten(1)
    L = h.shape[0]
    unit = m * m
    cu = F.pad(torch.repeat_interleave(grid[:, 1] * grid[:, 2], grid[:, 0]).cumsum(0), (1, 0), value=0)
    if q25:
        ws = vs['window'] // m // P
        window_index, cu_w, wid = [], [0], 0
        for gt, gh, gw in grid.tolist():
            lh, lw = gh // m, gw // m
            index = torch.arange(gt * lh * lw).reshape(gt, lh, lw)
            pad_h = ws - lh % ws
            pad_w = ws - lw % ws
            nh = (lh + pad_h) // ws
            nw = (lw + pad_w) // ws
            ip = F.pad(index, (0, pad_w, 0, pad_h), 'constant', -100)
            ip = ip.reshape(gt, nh, ws, nw, ws).permute(0, 1, 3, 2, 4).reshape(gt, nh * nw, ws, ws)
            seqlens = (ip != -100).sum([2, 3]).reshape(-1)
            ip = ip.reshape(-1)
            window_index.append(ip[ip != -100] + wid)
            cu_w.extend((seqlens.cumsum(0) * unit + cu_w[-1]).tolist())
            wid += gt * lh * lw
        window_index = torch.cat(window_index)
        cu_w = torch.unique_consecutive(torch.tensor(cu_w))
        h = h.reshape(L // unit, unit, -1)[window_index].reshape(L, -1)
        rot = rot.reshape(L // unit, unit, -1)[window_index].reshape(L, -1)
    emb = torch.cat((rot, rot), dim=-1)
    cos, sin = emb.cos().unsqueeze(-2), emb.sin().unsqueeze(-2)
    def norm(x, name):
        if q25:
            return W[name + '.weight'] * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + 1e-6))
        return F.layer_norm(x, (E,), W[name + '.weight'], W[name + '.bias'], 1e-6)
    def act(x):
        return F.silu(x) if vs['act'] == 'silu' else x * torch.sigmoid(1.702 * x)
    for b in range(vs['depth']):
        p = 'visual.blocks.%d.' % b
        segs = cu_w if (q25 and b not in vs['fullatt']) else cu
        hs = norm(h, p + 'norm1')
        q, k, v = F.linear(hs, W[p + 'attn.qkv.weight'], W[p + 'attn.qkv.bias']).reshape(L, 3, heads, -1).permute(1, 0, 2, 3).unbind(0)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        mask = torch.full([1, L, L], float('-inf'))
        for i in range(1, len(segs)):
            mask[..., segs[i - 1]:segs[i], segs[i - 1]:segs[i]] = 0
        q, k, v = q.transpose(0, 1), k.transpose(0, 1), v.transpose(0, 1)
        a = torch.softmax(q @ k.transpose(1, 2) / (hd ** 0.5) + mask, dim=-1) @ v
        h = h + F.linear(a.transpose(0, 1).reshape(L, -1), W[p + 'attn.proj.weight'], W[p + 'attn.proj.bias'])
        hs = norm(h, p + 'norm2')
        if q25:
            f = F.linear(act(F.linear(hs, W[p + 'mlp.gate_proj.weight'], W[p + 'mlp.gate_proj.bias'])) * F.linear(hs, W[p + 'mlp.up_proj.weight'], W[p + 'mlp.up_proj.bias']), W[p + 'mlp.down_proj.weight'], W[p + 'mlp.down_proj.bias'])
        else:
            f = F.linear(act(F.linear(hs, W[p + 'mlp.fc1.weight'], W[p + 'mlp.fc1.bias'])), W[p + 'mlp.fc2.weight'], W[p + 'mlp.fc2.bias'])
        h = h + f
    y = norm(h, 'visual.merger.ln_q').view(-1, unit * E)
    y = F.linear(F.gelu(F.linear(y, W['visual.merger.mlp.0.weight'], W['visual.merger.mlp.0.bias'])), W['visual.merger.mlp.2.weight'], W['visual.merger.mlp.2.bias'])
    if q25:
        y = y[torch.argsort(window_index)]
    y.numpy().astype(np.float64).tofile(vs['out'])

if 'rope_index' in spec:
    res = []
    for case in spec['rope_index']:
        ids = case['ids']
        grid = case['grids']
        m, image_id, start_id = case['merge'], case['image'], case['start']
        input_tokens = ids
        t_ids = torch.tensor(ids)
        vision_start_indices = torch.argwhere(t_ids == start_id).squeeze(1)
        image_nums = (t_ids[vision_start_indices + 1] == image_id).sum()
        llm_pos_ids_list = []
        st = 0
        image_index = 0
        for _ in range(int(image_nums)):
            ed = input_tokens.index(image_id, st)
            t, hh, ww = grid[image_index]
            image_index += 1
            lt, lh, lw = t, hh // m, ww // m
            text_len = ed - st
            st_idx = llm_pos_ids_list[-1].max() + 1 if len(llm_pos_ids_list) > 0 else 0
            llm_pos_ids_list.append(torch.arange(text_len).view(1, -1).expand(3, -1) + st_idx)
            t_index = torch.arange(lt).view(-1, 1).expand(-1, lh * lw).flatten()
            h_index = torch.arange(lh).view(1, -1, 1).expand(lt, -1, lw).flatten()
            w_index = torch.arange(lw).view(1, 1, -1).expand(lt, lh, -1).flatten()
            llm_pos_ids_list.append(torch.stack([t_index, h_index, w_index]) + text_len + st_idx)
            st = ed + lt * lh * lw
        if st < len(input_tokens):
            st_idx = llm_pos_ids_list[-1].max() + 1 if len(llm_pos_ids_list) > 0 else 0
            text_len = len(input_tokens) - st
            llm_pos_ids_list.append(torch.arange(text_len).view(1, -1).expand(3, -1) + st_idx)
        pos = torch.cat(llm_pos_ids_list, dim=1).reshape(3, -1)
        res.append({'pos': pos.flatten().tolist(), 'delta': int(pos.max() + 1 - len(ids))})
    out['rope_index'] = res

if 'mrope' in spec:
    ms = spec['mrope']
    n, heads, d = ms['n'], ms['heads'], ms['d']
    q = torch.tensor(ms['q']).reshape(1, n, heads, d).transpose(1, 2)  # [B, H, S, D]
    pos = torch.tensor(ms['pos']).reshape(3, 1, n).double()
    inv_freq = 1.0 / (ms['theta'] ** (torch.arange(0, d, 2, dtype=torch.float64) / d))
    freqs = (inv_freq[None, None, :, None].expand(3, 1, -1, 1) @ pos[:, :, None, :]).transpose(2, 3)
    emb = torch.cat((freqs, freqs), dim=-1)
    cos, sin = emb.cos(), emb.sin()
    section = ms['section'] * 2
    cos = torch.cat([c[i % 3] for i, c in enumerate(cos.split(section, dim=-1))], dim=-1).unsqueeze(1)
    sin = torch.cat([c[i % 3] for i, c in enumerate(sin.split(section, dim=-1))], dim=-1).unsqueeze(1)
    y = q * cos + rotate_half(q) * sin
    out['mrope'] = y.transpose(1, 2).flatten().tolist()

print(json.dumps(out))
`;

function testImage(width: number, height: number, seed: number): RgbImage {
  const r = rng(seed);
  return { width, height, data: Uint8Array.from({ length: width * height * 3 }, () => Math.floor(256 * r())), source: `oracle ${width}x${height}` };
}

const maxAbsDiff = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i]! - b[i]!));
  return d;
};

describe('get_rope_index on hand-derived prompts', () => {
  const IMG = 9;
  const VS = 8;
  const VE = 7;
  it('an image in the middle of text: prefix 0..s-1, then (s + t, s + row, s + col), then max + 1 onwards', () => {
    // text 1 2 <vs> [2 x 3 merged tokens] <ve> 3 4 ; grid (1, 4, 6) with merge 2
    const ids = [1, 2, VS, ...new Array<number>(6).fill(IMG), VE, 3, 4];
    const pos = qwen2VLRopeIndex(ids, [[1, 4, 6]], IMG, VS, 2);
    const T = ids.length;
    const rows = [0, 1, 2].map((r) => Array.from(pos.subarray(r * T, (r + 1) * T)));
    // the image starts at s = 3: t stays 3, rows 3..4, columns 3..5; <vision_end> at max 5 + 1 = 6
    expect(rows[0]).toEqual([0, 1, 2, 3, 3, 3, 3, 3, 3, 6, 7, 8]);
    expect(rows[1]).toEqual([0, 1, 2, 3, 3, 3, 4, 4, 4, 6, 7, 8]);
    expect(rows[2]).toEqual([0, 1, 2, 3, 4, 5, 3, 4, 5, 6, 7, 8]);
    // rope delta: max 8 + 1 - 12 tokens
    expect(ropeDelta(pos, T)).toBe(-3);
  });

  it('two images: the second starts one after the first block and text between', () => {
    // <vs> [1 x 2] <ve> 5 <vs> [2 x 1] <ve>
    const ids = [VS, IMG, IMG, VE, 5, VS, IMG, IMG, VE];
    const pos = qwen2VLRopeIndex(ids, [[1, 2, 4], [1, 4, 2]], IMG, VS, 2);
    const T = ids.length;
    const rows = [0, 1, 2].map((r) => Array.from(pos.subarray(r * T, (r + 1) * T)));
    // image 1 at s = 1: (1,1,1) (1,1,2); max 2 -> <ve> 3, '5' 4, <vs> 5; image 2 at s = 6: (6,6,6) (6,7,6); <ve> 8
    expect(rows[0]).toEqual([0, 1, 1, 3, 4, 5, 6, 6, 8]);
    expect(rows[1]).toEqual([0, 1, 1, 3, 4, 5, 6, 7, 8]);
    expect(rows[2]).toEqual([0, 1, 2, 3, 4, 5, 6, 6, 8]);
    expect(ropeDelta(pos, T)).toBe(0);
  });

  it('text only is arange on every row; a grid count that disagrees with the prompt is refused', () => {
    expect(Array.from(qwen2VLRopeIndex([4, 5, 6], [], IMG, VS, 2))).toEqual([0, 1, 2, 0, 1, 2, 0, 1, 2]);
    expect(() => qwen2VLRopeIndex([VS, IMG, VE], [], IMG, VS, 2)).toThrow(/1 image\(s\).*but 0 image grid/);
  });
});

describe.skipIf(!PY)('vs torch float64 oracles of the modeling code', () => {
  for (const variant of ['qwen2_vl', 'qwen2_5_vl'] as const) {
    it(`${variant}: image features of two images (grids of different shapes) equal the oracle's`, async () => {
      const dir = join(tmp, variant);
      const { config } = await writeTinyQwen2VL(dir, { seed: 21, variant });
      const ckpt = await openCheckpoint(dir);
      const ref = (await loadReferenceModel(ckpt)) as ReferenceTensors<Qwen2VLConfig>;
      await ckpt.close();
      // 48 x 24 px (3 x 6 merged: partial windows) and 32 x 32 (4 x 4: divisible, an empty pad window)
      const ip = parseQwen2VLImageProcessorConfig({ min_pixels: 256, max_pixels: 2048, patch_size: 4 }, 'oracle');
      const px = preprocessQwen2VL([testImage(45, 21, 1), testImage(30, 33, 2)], ip).pixels;
      const pixFile = join(tmp, `${variant}.f32`);
      await writeFile(pixFile, px.data);
      const outFile = join(tmp, `${variant}.out`);
      const v = config.vision;
      const spec = {
        vision: {
          weights: join(dir, 'model.safetensors'), pixels: pixFile, out: outFile, grids: px.grids, variant, hidden: v.hiddenSize, heads: v.numHeads,
          patch: v.patchSize, temporal: v.temporalPatchSize, merge: v.spatialMergeSize, depth: v.depth, act: v.hiddenAct, window: v.windowSize, fullatt: v.fullAttBlockIndexes,
        },
      };
      const specFile = join(tmp, `${variant}.json`);
      await writeFile(specFile, JSON.stringify(spec));
      runPython(PY!, ORACLE, [specFile]);
      const { readFile } = await import('node:fs/promises');
      const want = new Float64Array((await readFile(outFile)).buffer.slice(0));
      const got = referenceQwen2VLImageFeatures(ref, { data: Float64Array.from(px.data), shape: px.shape, grids: px.grids });
      expect(got.length).toBe(want.length);
      expect(got.length).toBe((18 + 16) * config.text.hiddenSize);
      expect(maxAbsDiff(got, want)).toBeLessThan(1e-9);
    });
  }

  it('get_rope_index and apply_multimodal_rotary_pos_emb', async () => {
    const r = rng(5);
    const cases = [
      { ids: [1, 8, 9, 9, 9, 9, 9, 9, 7, 2, 3, 8, 9, 9, 7, 4], grids: [[1, 4, 6], [1, 2, 4]], merge: 2, image: 9, start: 8 },
      { ids: [8, ...new Array<number>(12).fill(9), 7, 1, 1, 1], grids: [[1, 8, 6]], merge: 2, image: 9, start: 8 },
      { ids: [3, 4, 5, 6], grids: [], merge: 2, image: 9, start: 8 },
    ];
    const [n, heads, d] = [10, 3, 16];
    const section: [number, number, number] = [2, 3, 3];
    const q = Array.from({ length: n * heads * d }, () => 2 * r() - 1);
    const pos = Array.from({ length: 3 * n }, () => Math.floor(r() * 5000));
    const specFile = join(tmp, 'rope.json');
    await writeFile(specFile, JSON.stringify({ rope_index: cases, mrope: { n, heads, d, q, pos, section, theta: 1e6 } }));
    const out = JSON.parse(runPython(PY!, ORACLE, [specFile])) as { rope_index: Array<{ pos: number[]; delta: number }>; mrope: number[] };
    cases.forEach((c, i) => {
      const got = qwen2VLRopeIndex(c.ids, c.grids as Array<[number, number, number]>, c.image, c.start, c.merge);
      expect(Array.from(got)).toEqual(out.rope_index[i]!.pos);
      expect(ropeDelta(got, c.ids.length)).toBe(out.rope_index[i]!.delta);
    });
    const x = Float64Array.from(q);
    applyMultimodalRope(x, n, heads, d, 1e6, section, pos);
    expect(maxAbsDiff(x, out.mrope)).toBeLessThan(1e-9);
  });
});
