// The decoder (Llama / Qwen2) on the GPU: one pass over Tn new tokens per row, appending to the
// KV cache, with optional head-tap and head-patch in the attention epilogue (DESIGN.md section 5).
import { add, attention, binary, embedding, kvAppend, matmul, rmsnorm, rope, ropeInvFreq, type Recorder, type Tensor } from '@mtv/kernels';
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
  const pos0 = P + start;
  // Default RoPE uses the kernel's per-device cached frequency table; only scaled variants pass
  // their own frequencies.
  const ropeOpts = tc.rope.type === 'default' ? { pos0, theta: tc.rope.theta } : { pos0, theta: tc.rope.theta, invFreq: invFreqOf(tc.rope, D) };
  let x = pass.x;
  for (let l = 0; l < L; l++) {
    const W = w.text.layers[l]!;
    const h = temp(rec, await rmsnorm(rec, x, W.inNorm, tc.rmsNormEps));
    const q = await linear(rec, h, W.q, W.qb);
    const k = await linear(rec, h, W.k, W.kb);
    const v = await linear(rec, h, W.v, W.vb);
    const qr = temp(rec, await rope(rec, q.reshape([B, Tn, Hq, D]), ropeOpts));
    const kr = temp(rec, await rope(rec, k.reshape([B, Tn, Hkv, D]), ropeOpts));
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
