// The decoder (Llama / Qwen2) on the GPU: one pass over Tn new tokens per row, appending to the
// KV cache, with optional head-tap and head-patch in the attention epilogue (DESIGN.md section 5).
import { add, attention, binary, embedding, kvAppend, matmul, rmsnorm, rope, ropeAt, ropeInvFreq, type Recorder, type Tensor } from '@mtv/kernels';
import type { RopeConfig } from '../config/index.js';
import type { KvCache } from './kv-cache.js';
import { activation, linear, temp } from './layers.js';
import type { ModelWeights } from './weights.js';

export interface PassTap {
  /** [B, nPos, L, Hq, D] */
  buffer: Tensor;
  positions: readonly number[];
}

export interface PassPatch {
  /** [L, Hq, D] */
  values: Tensor;
  /** [B, L, Hq] u32 */
  mask: Tensor;
  positions: readonly number[];
}

export interface DecoderPass {
  /** Input embeddings [B * Tn, H]. */
  x: Tensor;
  rows: number;
  tokens: number;
  /** Per-row cache the new tokens are appended to (rows = B). */
  cache: KvCache;
  /** A shared prefix every row attends to first (its rows = 1), or none. */
  prefix?: KvCache;
  tap?: PassTap;
  patch?: PassPatch;
  /** Which query tokens of each row get logits (default: the last). */
  logitPositions?: readonly number[];
  /**
   * Multimodal RoPE (text config with mrope_section): the (temporal, height, width) positions of this
   * pass's tokens [3, Tn], the same for every row. Absent: token t is at P + cache length + t.
   */
  ropePositions?: ArrayLike<number>;
  /** Added to every position when ropePositions is absent (Qwen2-VL's rope delta while decoding). Default 0. */
  positionOffset?: number;
}

/** Logits [B * nLogitPositions, V] after running every layer; advances cache.length by Tn. */
export async function decoderPass(rec: Recorder, w: ModelWeights, pass: DecoderPass): Promise<Tensor> {
  const tc = w.config.text;
  const { rows: B, tokens: Tn, cache, prefix } = pass;
  const P = prefix ? prefix.length : 0;
  const start = cache.length;
  const S = start + Tn;
  if (S > cache.capacity) throw new Error(`decoder: ${S} tokens exceed the KV cache capacity ${cache.capacity}`);
  if (cache.rows !== B) throw new Error(`decoder: cache has ${cache.rows} rows, pass has ${B}`);
  const H = tc.hiddenSize;
  const D = tc.headDim;
  const Hq = tc.numHeads;
  const Hkv = tc.numKvHeads;
  const L = tc.numLayers;
  const pos0 = P + start + (pass.positionOffset ?? 0);
  // Default RoPE uses the kernel's per-device cached frequency table; only scaled variants pass
  // their own frequencies.
  const ropeOpts = tc.rope.type === 'default' ? { pos0, theta: tc.rope.theta } : { pos0, theta: tc.rope.theta, invFreq: invFreqOf(tc.rope, D) };
  const mrope = pass.ropePositions ? temp(rec, multimodalRopeTable(rec, tc.rope, pass.ropePositions, Tn, D)) : null;
  const rotate = async (t: Tensor): Promise<Tensor> => (mrope ? ropeAt(rec, t, mrope, ropeOpts) : rope(rec, t, ropeOpts));
  let x = pass.x;
  for (let l = 0; l < L; l++) {
    const W = w.text.layers[l]!;
    const h = temp(rec, await rmsnorm(rec, x, W.inNorm, tc.rmsNormEps));
    const q = await linear(rec, h, W.q, W.qb);
    const k = await linear(rec, h, W.k, W.kb);
    const v = await linear(rec, h, W.v, W.vb);
    const qr = temp(rec, await rotate(q.reshape([B, Tn, Hq, D])));
    const kr = temp(rec, await rotate(k.reshape([B, Tn, Hkv, D])));
    await kvAppend(rec, kr, cache.k[l]!, start);
    await kvAppend(rec, v.reshape([B, Tn, Hkv, D]), cache.v[l]!, start);
    const o = temp(rec, await attention(rec, {
      q: qr,
      ...(prefix && P > 0 ? { kPre: prefixView(prefix.k[l]!, P), vPre: prefixView(prefix.v[l]!, P) } : {}),
      kSuf: cache.k[l]!,
      vSuf: cache.v[l]!,
      S,
      causal: true,
      ...(pass.tap ? { tap: { buffer: pass.tap.buffer, positions: pass.tap.positions, layer: l, layers: L } } : {}),
      ...(pass.patch ? { patch: { values: pass.patch.values, mask: pass.patch.mask, positions: pass.patch.positions, layer: l, layers: L } } : {}),
    }));
    const a = await linear(rec, o.reshape([B * Tn, Hq * D]), W.o, W.ob);
    const x2 = temp(rec, await add(rec, x, a));
    const h2 = temp(rec, await rmsnorm(rec, x2, W.postNorm, tc.rmsNormEps));
    const g = await linear(rec, h2, W.gate, W.gateb);
    const u = await linear(rec, h2, W.up, W.upb);
    // silu (every published Llama / Qwen2) keeps the fused kernel; other hidden_act values
    // (gelu_pytorch_tanh, gelu, quick_gelu) run act(gate) * up as the reference does.
    const m = temp(rec, tc.hiddenAct === 'silu' ? await binary(rec, 'silu_mul', g, u) : await binary(rec, 'mul', await activation(rec, tc.hiddenAct, g), u));
    x = temp(rec, await add(rec, x2, await linear(rec, m, W.down, W.downb)));
  }
  cache.length = S;
  // Only the rows that need logits go through the final norm and the LM head.
  const want = pass.logitPositions ?? [Tn - 1];
  const rowsIdx = new Int32Array(B * want.length);
  for (let b = 0; b < B; b++) want.forEach((t, i) => (rowsIdx[b * want.length + i] = b * Tn + t));
  const last = temp(rec, await embedding(rec, x.reshape([B * Tn, H]), rowsIdx));
  const normed = temp(rec, await rmsnorm(rec, last, w.text.norm, tc.rmsNormEps));
  return matmul(rec, normed, w.text.lmHead);
}

/**
 * Qwen2-VL's M-RoPE as a position per (token, frequency) [Tn, D/2] u32: frequency i of the first
 * mrope_section[0] takes the temporal row of `positions` [3, Tn], the next mrope_section[1] the height
 * row, the rest the width row (apply_multimodal_rotary_pos_emb, on both halves of the head).
 */
function multimodalRopeTable(rec: Recorder, r: RopeConfig, positions: ArrayLike<number>, Tn: number, D: number): Tensor {
  const sec = r.mropeSection;
  if (!sec) throw new Error('decoder: M-RoPE positions were given but the text config has no rope mrope_section');
  if (positions.length !== 3 * Tn) throw new Error(`decoder: M-RoPE positions have ${positions.length} entries; [3, ${Tn}] needs ${3 * Tn}`);
  const half = D / 2;
  const table = new Uint32Array(Tn * half);
  for (let t = 0; t < Tn; t++)
    for (let i = 0; i < half; i++) {
      const row = i < sec[0] ? 0 : i < sec[0] + sec[1] ? 1 : 2;
      const p = positions[row * Tn + t]!;
      if (!Number.isInteger(p) || p < 0) throw new Error(`decoder: M-RoPE position ${p} (row ${row}, token ${t}) must be a non-negative integer`);
      table[t * half + i] = p;
    }
  return rec.gpu.upload(table, [Tn, half], 'u32', { label: 'mrope positions' });
}

/** The first P entries of a one-row cache [1, Smax, Hkv, D] as [P, Hkv, D]. */
const prefixView = (t: Tensor, P: number): Tensor => t.reshape(t.shape.slice(1)).rows(0, P);

const invFreqCache = new Map<string, Float64Array>();
/** HF inv_freq in float64; `linear` scaling divides positions (equivalently the frequencies) by factor. */
function invFreqOf(r: RopeConfig, D: number): Float64Array {
  const key = `${r.type}/${r.theta}/${r.factor}/${D}`;
  let f = invFreqCache.get(key);
  if (!f) {
    f = ropeInvFreq(D, r.theta);
    if (r.type === 'linear') f = f.map((x) => x / r.factor);
    invFreqCache.set(key, f);
  }
  return f;
}
