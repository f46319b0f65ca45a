// Reference Llama / Qwen2 decoder with the MTV tap and patch on the o_proj input (VLM_FORMATS.md 3).
import { TEXT_PREFIX } from '../weights/names.js';
import { activate, addInPlace, linear, rmsNorm, softmaxInPlace } from './math.js';
import { optionalWeight, weight, type ReferenceModel } from './model.js';

export interface ReferencePatch {
  /** Replacement head outputs, [layers, heads, head_dim]. */
  values: ArrayLike<number>;
  /** [layers, heads]; a non-zero entry replaces that head's output at the last position. */
  mask: ArrayLike<number>;
}

export interface DecoderOptions {
  /** Also return the per-head o_proj inputs at the last position, [layers, heads, head_dim]. */
  tap?: boolean;
  patch?: ReferencePatch;
  /** Logits for the last position only (default: every position). */
  lastOnly?: boolean;
  /** Multimodal RoPE positions [3, n] (text config with mrope_section); default: token t at position t. */
  ropePositions?: ArrayLike<number>;
}

export interface DecoderOutput {
  /** [positions, vocab] row-major (positions = 1 with lastOnly). */
  logits: Float64Array;
  positions: number;
  vocabSize: number;
  tap?: Float64Array;
}

/**
 * Rotates q or k ([n, heads, d], position = row index) in place with the half-split (rotate_half)
 * convention: for j < d/2, angle = pos·theta^(-2j/d), x'[j] = x[j]cos - x[j+d/2]sin, x'[j+d/2] = x[j+d/2]cos + x[j]sin.
 */
export function applyRope(x: Float64Array, n: number, heads: number, d: number, theta: number, positionScale: number): void {
  const half = d / 2;
  for (let p = 0; p < n; p++) {
    for (let i = 0; i < half; i++) {
      const angle = p * positionScale * theta ** ((-2 * i) / d);
      const cos = Math.cos(angle);
      const sin = Math.sin(angle);
      for (let h = 0; h < heads; h++) {
        const base = (p * heads + h) * d;
        const a = x[base + i]!;
        const b = x[base + i + half]!;
        x[base + i] = a * cos - b * sin;
        x[base + i + half] = b * cos + a * sin;
      }
    }
  }
}

/**
 * M-RoPE (Qwen2-VL apply_multimodal_rotary_pos_emb) on q or k [n, heads, d] in place: frequency i
 * rotates by positions[row(i) * n + p] * theta^(-2i/d), row(i) = 0 (temporal) for i < section[0],
 * 1 (height) for the next section[1], 2 (width) for the rest.
 */
export function applyMultimodalRope(x: Float64Array, n: number, heads: number, d: number, theta: number, section: readonly [number, number, number], positions: ArrayLike<number>): void {
  const half = d / 2;
  if (positions.length !== 3 * n) throw new Error(`reference decoder: M-RoPE positions have ${positions.length} entries, expected [3, ${n}]`);
  for (let p = 0; p < n; p++) {
    for (let i = 0; i < half; i++) {
      const row = i < section[0] ? 0 : i < section[0] + section[1] ? 1 : 2;
      const angle = positions[row * n + p]! * theta ** ((-2 * i) / d);
      const cos = Math.cos(angle);
      const sin = Math.sin(angle);
      for (let h = 0; h < heads; h++) {
        const base = (p * heads + h) * d;
        const a = x[base + i]!;
        const b = x[base + i + half]!;
        x[base + i] = a * cos - b * sin;
        x[base + i + half] = b * cos + a * sin;
      }
    }
  }
}

/** Causal GQA attention; returns the concatenated head outputs [n, heads * d] (the o_proj input). */
function attention(q: Float64Array, k: Float64Array, v: Float64Array, n: number, nH: number, nKV: number, d: number): Float64Array {
  const out = new Float64Array(n * nH * d);
  const scores = new Float64Array(n);
  const scale = 1 / Math.sqrt(d);
  const group = nH / nKV; // query head h reads kv head floor(h / group)
  for (let h = 0; h < nH; h++) {
    const g = Math.floor(h / group);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j <= i; j++) {
        let s = 0;
        for (let e = 0; e < d; e++) s += q[(i * nH + h) * d + e]! * k[(j * nKV + g) * d + e]!;
        scores[j] = s * scale;
      }
      softmaxInPlace(scores, i + 1);
      for (let j = 0; j <= i; j++) for (let e = 0; e < d; e++) out[(i * nH + h) * d + e]! += scores[j]! * v[(j * nKV + g) * d + e]!;
    }
  }
  return out;
}

/** The decoder over already-built input embeddings [n, hidden]. */
export function referenceDecoder(model: ReferenceModel, embeds: Float64Array, n: number, opts: DecoderOptions = {}): DecoderOutput {
  const t = model.config.text;
  const { hiddenSize: H, numHeads: nH, numKvHeads: nKV, headDim: d, numLayers, intermediateSize: I, rmsNormEps: eps } = t;
  const last = n - 1;
  if (opts.patch) {
    if (opts.patch.values.length !== numLayers * nH * d) throw new Error(`reference decoder: patch values have ${opts.patch.values.length} elements, expected [${numLayers}, ${nH}, ${d}]`);
    if (opts.patch.mask.length !== numLayers * nH) throw new Error(`reference decoder: patch mask has ${opts.patch.mask.length} elements, expected [${numLayers}, ${nH}]`);
  }
  const tap = opts.tap ? new Float64Array(numLayers * nH * d) : undefined;
  const positionScale = t.rope.type === 'linear' ? 1 / t.rope.factor : 1;
  let h: Float64Array = embeds.slice();
  for (let l = 0; l < numLayers; l++) {
    const p = `${TEXT_PREFIX}layers.${l}.`;
    const w = (s: string): Float64Array => weight(model, p + s);
    const b = (s: string): Float64Array | undefined => optionalWeight(model, p + s);

    const x = rmsNorm(h, H, w('input_layernorm.weight'), eps);
    const q = linear(x, n, w('self_attn.q_proj.weight'), nH * d, b('self_attn.q_proj.bias'));
    const k = linear(x, n, w('self_attn.k_proj.weight'), nKV * d, b('self_attn.k_proj.bias'));
    const v = linear(x, n, w('self_attn.v_proj.weight'), nKV * d, b('self_attn.v_proj.bias'));
    if (opts.ropePositions) {
      if (!t.rope.mropeSection) throw new Error('reference decoder: M-RoPE positions were given but the text config has no rope mrope_section');
      applyMultimodalRope(q, n, nH, d, t.rope.theta, t.rope.mropeSection, opts.ropePositions);
      applyMultimodalRope(k, n, nKV, d, t.rope.theta, t.rope.mropeSection, opts.ropePositions);
    } else {
      applyRope(q, n, nH, d, t.rope.theta, positionScale);
      applyRope(k, n, nKV, d, t.rope.theta, positionScale);
    }
    const heads = attention(q, k, v, n, nH, nKV, d);

    // MTV: the o_proj input at the last position, head hh at columns [hh*d, (hh+1)*d).
    for (let hh = 0; hh < nH; hh++) {
      const row = (last * nH + hh) * d;
      const slot = (l * nH + hh) * d;
      if (opts.patch && opts.patch.mask[l * nH + hh]) for (let e = 0; e < d; e++) heads[row + e] = opts.patch.values[slot + e]!;
      if (tap) tap.set(heads.subarray(row, row + d), slot);
    }
    addInPlace(h, linear(heads, n, w('self_attn.o_proj.weight'), H, b('self_attn.o_proj.bias')));

    const y = rmsNorm(h, H, w('post_attention_layernorm.weight'), eps);
    const gate = activate(t.hiddenAct, linear(y, n, w('mlp.gate_proj.weight'), I, b('mlp.gate_proj.bias')));
    const up = linear(y, n, w('mlp.up_proj.weight'), I, b('mlp.up_proj.bias'));
    for (let i = 0; i < gate.length; i++) gate[i]! *= up[i]!;
    addInPlace(h, linear(gate, n, w('mlp.down_proj.weight'), H, b('mlp.down_proj.bias')));
  }
  h = rmsNorm(h, H, weight(model, `${TEXT_PREFIX}norm.weight`), eps);
  const rows = opts.lastOnly ? h.slice(last * H) : h;
  const positions = opts.lastOnly ? 1 : n;
  const lmHead = model.config.tieWordEmbeddings ? weight(model, `${TEXT_PREFIX}embed_tokens.weight`) : weight(model, 'lm_head.weight');
  const logits = linear(rows, positions, lmHead, t.vocabSize);
  return tap ? { logits, positions, vocabSize: t.vocabSize, tap } : { logits, positions, vocabSize: t.vocabSize };
}
