// Float64 reference of Qwen2-VL / Qwen2.5-VL image features (Qwen2VisionTransformerPretrainedModel /
// Qwen2_5_VisionTransformerPretrainedModel.forward; VLM_FAMILIES.md 4.4), written as the modeling code
// runs it:
//   x = patch_embed(pixels)                       Conv3d with kernel = stride = (tp, P, P): x @ W.reshape(E, -1)^T
//   rotary = rot_pos_emb(grid_thw)                [L, hd/2] = cat(row * inv, column * inv), inv = 10000^(-2i/(hd/2))
//   Qwen2.5: x, rotary permuted by window_index at merge-unit granularity (groups of merge^2 rows)
//   for each block: x += proj(attn(norm1 x)); x += mlp(norm2 x)
//     attn: qkv = Linear(E, 3E) viewed (L, 3, heads, hd); q, k rotated (rotate_half, emb = cat(rotary, rotary));
//     softmax(q k^T / sqrt(hd)) v within each segment of cu_seqlens (per image frame) or, for Qwen2.5
//     blocks not in fullatt_block_indexes, cu_window_seqlens (contiguous after the permutation)
//     mlp: Qwen2-VL fc2(act(fc1 x)) (LayerNorm); Qwen2.5-VL down(act(gate x) * up x) with biases (RMSNorm)
//   merger: ln_q, view(L / m^2, m^2 E), Linear -> GELU (erf) -> Linear
//   Qwen2.5: rows put back with argsort(window_index).
import { activate, layerNorm, linear, rmsNorm, softmaxInPlace } from '../../reference/math.js';
import type { PixelBatch, ReferenceTensors } from '../types.js';
import type { Qwen2VLConfig } from './config.js';
import { qwen2VLFrameSegments, qwen2VLPatchPositions, qwen2VLWindowIndex } from './vision-layout.js';
import { QWEN2_VL_VISION_PREFIX } from './weights.js';

type Grids = NonNullable<PixelBatch['grids']>;

function get(tensors: ReadonlyMap<string, Float64Array>, name: string): Float64Array {
  const t = tensors.get(QWEN2_VL_VISION_PREFIX + name);
  if (!t) throw new Error(`reference: weight '${QWEN2_VL_VISION_PREFIX}${name}' is not loaded`);
  return t;
}

/** Rotates rows x [L, heads, hd] in place by per-row angles [L, hd/2] (rotate_half). */
function rotate(x: Float64Array, L: number, heads: number, hd: number, angles: Float64Array): void {
  const half = hd / 2;
  for (let r = 0; r < L; r++)
    for (let i = 0; i < half; i++) {
      const a = angles[r * half + i]!;
      const c = Math.cos(a);
      const s = Math.sin(a);
      for (let h = 0; h < heads; h++) {
        const base = (r * heads + h) * hd;
        const x1 = x[base + i]!;
        const x2 = x[base + i + half]!;
        x[base + i] = x1 * c - x2 * s;
        x[base + i + half] = x2 * c + x1 * s;
      }
    }
}

/** Bidirectional attention of q, k, v [L, heads, hd] within each segment [start, end). */
function segmentAttention(q: Float64Array, k: Float64Array, v: Float64Array, heads: number, hd: number, segments: ReadonlyArray<readonly [number, number]>): Float64Array {
  const out = new Float64Array(q.length);
  const scale = 1 / Math.sqrt(hd);
  for (const [s, e] of segments) {
    const scores = new Float64Array(e - s);
    for (let h = 0; h < heads; h++)
      for (let i = s; i < e; i++) {
        for (let j = s; j < e; j++) {
          let d = 0;
          for (let c = 0; c < hd; c++) d += q[(i * heads + h) * hd + c]! * k[(j * heads + h) * hd + c]!;
          scores[j - s] = d * scale;
        }
        softmaxInPlace(scores);
        for (let j = s; j < e; j++) for (let c = 0; c < hd; c++) out[(i * heads + h) * hd + c]! += scores[j - s]! * v[(j * heads + h) * hd + c]!;
      }
  }
  return out;
}

/** Permutes rows of x [units * unit, width] by merge unit: out unit i = x unit index[i]. */
function permuteUnits(x: Float64Array, index: Int32Array, unit: number, width: number): Float64Array {
  const out = new Float64Array(x.length);
  const span = unit * width;
  index.forEach((src, i) => out.set(x.subarray(src * span, (src + 1) * span), i * span));
  return out;
}

/** Image features [sum of t*h*w / merge^2, text hidden] of the flattened patches [L, C*tp*P*P] with their grids. */
export function referenceQwen2VLImageFeatures(model: ReferenceTensors<Qwen2VLConfig>, pixels: { data: Float64Array; shape: PixelBatch['shape']; grids?: Grids }): Float64Array {
  const { config, tensors } = model;
  const v = config.vision;
  const grids = pixels.grids;
  if (!grids) throw new Error('reference Qwen2-VL: the pixel batch has no image grids (image_grid_thw)');
  const L = grids.reduce((a, [t, h, w]) => a + t * h * w, 0);
  const K = v.inChannels * v.temporalPatchSize * v.patchSize * v.patchSize;
  if (pixels.data.length !== L * K) throw new Error(`reference Qwen2-VL: pixel values have ${pixels.data.length} elements; grids ${JSON.stringify(grids)} need [${L}, ${K}]`);
  const E = v.hiddenSize;
  const heads = v.numHeads;
  const hd = v.headDim;
  const m = v.spatialMergeSize;
  const unit = m * m;
  const rms = v.norm === 'rmsnorm';
  const norm = (x: Float64Array, name: string): Float64Array => (rms ? rmsNorm(x, E, get(tensors, `${name}.weight`), v.normEps) : layerNorm(x, E, get(tensors, `${name}.weight`), get(tensors, `${name}.bias`), v.normEps));

  let x: Float64Array = linear(pixels.data, L, get(tensors, 'patch_embed.proj.weight'), E);
  // rot_pos_emb: [L, hd/2] angles, the first hd/4 from the row, the last hd/4 from the column
  const dim = hd / 2;
  const inv = Float64Array.from({ length: dim / 2 }, (_, i) => 1 / 10000 ** ((2 * i) / dim));
  const pos = qwen2VLPatchPositions(grids, m);
  let angles: Float64Array = new Float64Array(L * dim);
  for (let r = 0; r < L; r++)
    for (let i = 0; i < dim / 2; i++) {
      angles[r * dim + i] = pos[2 * r]! * inv[i]!;
      angles[r * dim + dim / 2 + i] = pos[2 * r + 1]! * inv[i]!;
    }
  const frames = qwen2VLFrameSegments(grids);
  let windows: Array<[number, number]> = frames;
  let windowIndex: Int32Array | null = null;
  if (v.variant === 'qwen2_5_vl') {
    const w = qwen2VLWindowIndex(grids, m, v.mergerWindow!);
    windowIndex = w.index;
    x = permuteUnits(x, w.index, unit, E);
    angles = permuteUnits(angles, w.index, unit, dim);
    windows = [];
    let s = 0;
    for (const n of w.sizes) {
      windows.push([s, s + n * unit]);
      s += n * unit;
    }
  }
  for (let b = 0; b < v.depth; b++) {
    const p = `blocks.${b}.`;
    const segments = v.variant === 'qwen2_5_vl' && !v.fullAttBlockIndexes.includes(b) ? windows : frames;
    const h = norm(x, `${p}norm1`);
    const qkv = linear(h, L, get(tensors, `${p}attn.qkv.weight`), 3 * E, get(tensors, `${p}attn.qkv.bias`));
    const q = new Float64Array(L * E);
    const k = new Float64Array(L * E);
    const vv = new Float64Array(L * E);
    for (let r = 0; r < L; r++) {
      q.set(qkv.subarray(r * 3 * E, r * 3 * E + E), r * E);
      k.set(qkv.subarray(r * 3 * E + E, r * 3 * E + 2 * E), r * E);
      vv.set(qkv.subarray(r * 3 * E + 2 * E, r * 3 * E + 3 * E), r * E);
    }
    rotate(q, L, heads, hd, angles);
    rotate(k, L, heads, hd, angles);
    const o = segmentAttention(q, k, vv, heads, hd, segments);
    const a = linear(o, L, get(tensors, `${p}attn.proj.weight`), E, get(tensors, `${p}attn.proj.bias`));
    for (let i = 0; i < x.length; i++) x[i]! += a[i]!;
    const h2 = norm(x, `${p}norm2`);
    const I = v.intermediateSize;
    let f: Float64Array;
    if (v.mlp === 'fc') {
      f = linear(activate(v.hiddenAct, linear(h2, L, get(tensors, `${p}mlp.fc1.weight`), I, get(tensors, `${p}mlp.fc1.bias`))), L, get(tensors, `${p}mlp.fc2.weight`), E, get(tensors, `${p}mlp.fc2.bias`));
    } else {
      const g = activate(v.hiddenAct, linear(h2, L, get(tensors, `${p}mlp.gate_proj.weight`), I, get(tensors, `${p}mlp.gate_proj.bias`)));
      const u = linear(h2, L, get(tensors, `${p}mlp.up_proj.weight`), I, get(tensors, `${p}mlp.up_proj.bias`));
      for (let i = 0; i < g.length; i++) g[i]! *= u[i]!;
      f = linear(g, L, get(tensors, `${p}mlp.down_proj.weight`), E, get(tensors, `${p}mlp.down_proj.bias`));
    }
    for (let i = 0; i < x.length; i++) x[i]! += f[i]!;
  }
  const n = L / unit;
  const Dt = v.outHiddenSize;
  const ln = norm(x, 'merger.ln_q');
  const hid = activate('gelu', linear(ln, n, get(tensors, 'merger.mlp.0.weight'), unit * E, get(tensors, 'merger.mlp.0.bias')));
  const merged = linear(hid, n, get(tensors, 'merger.mlp.2.weight'), Dt, get(tensors, 'merger.mlp.2.bias'));
  if (!windowIndex) return merged;
  const out = new Float64Array(merged.length);
  windowIndex.forEach((dst, i) => out.set(merged.subarray(i * Dt, (i + 1) * Dt), dst * Dt));
  return out;
}
