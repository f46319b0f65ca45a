// The Qwen2-VL / Qwen2.5-VL vision tower + patch merger on the GPU (VLM_FAMILIES.md 4.4; the float64
// twin is reference.ts). Everything runs in the processor's patch order:
//   - patch embed: the Conv3d (kernel = stride = (tp, P, P), no bias) as one matmul over the flattened
//     patches [L, C tp P P];
//   - 2-D rotary on q and k with ropeAt: frequency i < hd/4 at the patch's grid row, the rest at its
//     column, inv_freq = two copies of 10000^(-2i/(hd/2));
//   - attention within each segment: per image frame (cu_seqlens), and for Qwen2.5-VL blocks not in
//     fullatt_block_indexes within each window. The modeling code permutes the rows into window order
//     (by merge unit) and back after the merger; every other op is per row and the merger's groups of
//     merge^2 rows are the same units in either order, so attending within each window's rows in
//     place is the same computation. A segment covering all rows runs directly; otherwise its rows are
//     gathered, attended and scattered back;
//   - the fused qkv projection's output [L, 3E] is split by gathering rows of its [3L, E] view;
//   - merger: ln_q, the [L/m^2, m^2 E] view, Linear, GELU (erf), Linear.
import { add, attention, binary, embedding, layernorm, matmul, rmsnorm, ropeAt, scatterRows, type Recorder, type Tensor } from '@mtv/kernels';
import { activation, linear, temp } from '../../runtime/layers.js';
import type { PixelBatch, WeightUploader } from '../types.js';
import type { Qwen2VLConfig } from './config.js';
import { qwen2VLFrameSegments, qwen2VLPatchPositions, qwen2VLWindowRows } from './vision-layout.js';
import { QWEN2_VL_VISION_PREFIX } from './weights.js';

interface Norm {
  w: Tensor;
  b: Tensor | null;
}

interface BlockWeights {
  norm1: Norm;
  norm2: Norm;
  qkv: Tensor; qkvb: Tensor; proj: Tensor; projb: Tensor;
  /** Qwen2-VL: fc1, fc2. Qwen2.5-VL: gate, up, down. */
  mlp: Array<{ w: Tensor; b: Tensor }>;
}

export interface Qwen2VLVisionWeights {
  patch: Tensor;
  blocks: BlockWeights[];
  lnQ: Norm;
  mlp0: Tensor; mlp0b: Tensor; mlp2: Tensor; mlp2b: Tensor;
}

export async function uploadQwen2VLVision(up: WeightUploader, c: Qwen2VLConfig): Promise<Qwen2VLVisionWeights> {
  const v = c.vision;
  const P = QWEN2_VL_VISION_PREFIX;
  const norm = async (name: string): Promise<Norm> => ({ w: await up.f32(`${P}${name}.weight`), b: v.norm === 'layernorm' ? await up.f32(`${P}${name}.bias`) : null });
  const lin = async (name: string): Promise<{ w: Tensor; b: Tensor }> => ({ w: await up.mat(`${P}${name}.weight`), b: await up.f32(`${P}${name}.bias`) });
  const blocks: BlockWeights[] = [];
  for (let i = 0; i < v.depth; i++) {
    const B = `blocks.${i}.`;
    const qkv = await lin(`${B}attn.qkv`);
    const proj = await lin(`${B}attn.proj`);
    const mlp = v.mlp === 'fc' ? [await lin(`${B}mlp.fc1`), await lin(`${B}mlp.fc2`)] : [await lin(`${B}mlp.gate_proj`), await lin(`${B}mlp.up_proj`), await lin(`${B}mlp.down_proj`)];
    blocks.push({ norm1: await norm(`${B}norm1`), norm2: await norm(`${B}norm2`), qkv: qkv.w, qkvb: qkv.b, proj: proj.w, projb: proj.b, mlp });
  }
  const K = v.inChannels * v.temporalPatchSize * v.patchSize * v.patchSize;
  const m0 = await lin('merger.mlp.0');
  const m2 = await lin('merger.mlp.2');
  return { patch: await up.mat(`${P}patch_embed.proj.weight`, [v.hiddenSize, K]), blocks, lnQ: await norm('merger.ln_q'), mlp0: m0.w, mlp0b: m0.b, mlp2: m2.w, mlp2b: m2.b };
}

/** The vision rotary's position table [L, hd/2] (u32) and frequencies [hd/2]. */
function rotaryTables(c: Qwen2VLConfig, grids: NonNullable<PixelBatch['grids']>): { positions: Uint32Array; invFreq: Float64Array } {
  const hd = c.vision.headDim;
  const dim = hd / 2;
  const q = dim / 2;
  const pos = qwen2VLPatchPositions(grids, c.vision.spatialMergeSize);
  const L = pos.length / 2;
  const positions = new Uint32Array(L * dim);
  for (let r = 0; r < L; r++)
    for (let i = 0; i < dim; i++) positions[r * dim + i] = i < q ? pos[2 * r]! : pos[2 * r + 1]!;
  const invFreq = Float64Array.from({ length: dim }, (_, i) => 1 / 10000 ** ((2 * (i % q)) / dim));
  return { positions, invFreq };
}

export async function qwen2VLImageFeatures(rec: Recorder, w: Qwen2VLVisionWeights, c: Qwen2VLConfig, pixels: PixelBatch): Promise<Tensor> {
  const v = c.vision;
  const grids = pixels.grids;
  if (!grids) throw new Error('vision: a Qwen2-VL pixel batch needs its image grids (image_grid_thw)');
  const L = grids.reduce((a, [t, h, wd]) => a + t * h * wd, 0);
  const K = v.inChannels * v.temporalPatchSize * v.patchSize * v.patchSize;
  if (pixels.data.length !== L * K) throw new Error(`vision: pixel values have ${pixels.data.length} elements; grids ${JSON.stringify(grids)} need [${L}, ${K}]`);
  const E = v.hiddenSize;
  const heads = v.numHeads;
  const hd = v.headDim;
  const unit = v.spatialMergeSize ** 2;
  const gpu = rec.gpu;
  const px = temp(rec, gpu.upload(pixels.data, [L, K], 'f32', { label: 'qwen2-vl patches' }));
  let x = temp(rec, await matmul(rec, px, w.patch));
  const rot = rotaryTables(c, grids);
  const rotPos = temp(rec, gpu.upload(rot.positions, [L, hd / 2], 'u32', { label: 'vision rotary positions' }));
  const frameRows = qwen2VLFrameSegments(grids).map(([s, e]) => Int32Array.from({ length: e - s }, (_, i) => s + i));
  const windowRows = v.variant === 'qwen2_5_vl' ? qwen2VLWindowRows(grids, v.spatialMergeSize, v.mergerWindow!) : frameRows;
  const norm = async (t: Tensor, n: Norm): Promise<Tensor> => temp(rec, n.b ? await layernorm(rec, t, n.w, n.b, v.normEps) : await rmsnorm(rec, t, n.w, v.normEps));
  const third = (k: number): Int32Array => Int32Array.from({ length: L }, (_, r) => 3 * r + k);
  const qRows = third(0);
  const kRows = third(1);
  const vRows = third(2);

  for (let b = 0; b < v.depth; b++) {
    const B = w.blocks[b]!;
    const segments = v.variant === 'qwen2_5_vl' && !v.fullAttBlockIndexes.includes(b) ? windowRows : frameRows;
    const h = await norm(x, B.norm1);
    const qkv = (await linear(rec, h, B.qkv, B.qkvb)).reshape([3 * L, E]);
    const q = temp(rec, await embedding(rec, qkv, qRows));
    const k = temp(rec, await embedding(rec, qkv, kRows));
    const vv = temp(rec, await embedding(rec, qkv, vRows));
    const qr = temp(rec, await ropeAt(rec, q.reshape([1, L, heads, hd]), rotPos, { theta: 10000, invFreq: rot.invFreq })).reshape([L, E]);
    const kr = temp(rec, await ropeAt(rec, k.reshape([1, L, heads, hd]), rotPos, { theta: 10000, invFreq: rot.invFreq })).reshape([L, E]);
    let o: Tensor;
    if (segments.length === 1) {
      o = temp(rec, await attention(rec, { q: qr.reshape([1, L, heads, hd]), kSuf: kr.reshape([1, L, heads, hd]), vSuf: vv.reshape([1, L, heads, hd]), causal: false })).reshape([L, E]);
    } else {
      o = temp(rec, gpu.empty([L, E], 'f32', 'vision attention'));
      for (const rows of segments) {
        const n = rows.length;
        const qs = temp(rec, await embedding(rec, qr, rows)).reshape([1, n, heads, hd]);
        const ks = temp(rec, await embedding(rec, kr, rows)).reshape([1, n, heads, hd]);
        const vs = temp(rec, await embedding(rec, vv, rows)).reshape([1, n, heads, hd]);
        const os = temp(rec, await attention(rec, { q: qs, kSuf: ks, vSuf: vs, causal: false }));
        await scatterRows(rec, o, os.reshape([n, E]), rows);
      }
    }
    const x2 = temp(rec, await add(rec, x, await linear(rec, o, B.proj, B.projb)));
    const h2 = await norm(x2, B.norm2);
    let f: Tensor;
    if (v.mlp === 'fc') {
      const [fc1, fc2] = B.mlp as [{ w: Tensor; b: Tensor }, { w: Tensor; b: Tensor }];
      f = await linear(rec, await activation(rec, v.hiddenAct, await linear(rec, h2, fc1.w, fc1.b)), fc2.w, fc2.b);
    } else {
      const [gate, up, down] = B.mlp as [{ w: Tensor; b: Tensor }, { w: Tensor; b: Tensor }, { w: Tensor; b: Tensor }];
      const g = await linear(rec, h2, gate.w, gate.b);
      const u = await linear(rec, h2, up.w, up.b);
      const gu = temp(rec, v.hiddenAct === 'silu' ? await binary(rec, 'silu_mul', g, u) : await binary(rec, 'mul', await activation(rec, v.hiddenAct, g), u));
      f = await linear(rec, gu, down.w, down.b);
    }
    x = temp(rec, await add(rec, x2, f));
  }
  const ln = await norm(x, w.lnQ);
  const hid = await activation(rec, 'gelu', await linear(rec, ln.reshape([L / unit, unit * E]), w.mlp0, w.mlp0b));
  // The caller owns the features.
  return matmul(rec, hid, w.mlp2, { bias: w.mlp2b });
}
