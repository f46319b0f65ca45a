// float64 CPU reference of attention (prefix + per-row suffix, GQA, causal or bidirectional,
// tap and patch) and of the KV-cache append, with the semantics of wgsl/attention.wgsl.

export interface RefAttentionArgs {
  /** [B, Tn, Hq, D] */
  q: ArrayLike<number>;
  /** [P, Hkv, D]; omit (or P = 0) for no prefix */
  kPre?: ArrayLike<number>;
  vPre?: ArrayLike<number>;
  /** [B, Smax, Hkv, D] */
  kSuf: ArrayLike<number>;
  vSuf: ArrayLike<number>;
  B: number;
  Tn: number;
  Hq: number;
  Hkv: number;
  D: number;
  P?: number;
  Smax: number;
  /** valid suffix length; default Smax */
  S?: number;
  causal: boolean;
  /** default 1 / sqrt(D) */
  scale?: number;
  /** tap: the buffer's prior contents [B, nPos, L, Hq, D] (copied, not modified) */
  tap?: { buffer: ArrayLike<number>; positions: readonly number[]; layer: number; layers: number };
  /** patch: values [L, Hq, D], mask [B, L, Hq] */
  patch?: { values: ArrayLike<number>; mask: ArrayLike<number>; positions: readonly number[]; layer: number; layers: number };
}

export interface RefAttentionResult {
  /** [B, Tn, Hq, D] */
  out: Float64Array;
  /** the tap buffer after the pass, when tap was given */
  tap?: Float64Array;
}

export function refAttention(a: RefAttentionArgs): RefAttentionResult {
  const { B, Tn, Hq, Hkv, D, Smax, causal } = a;
  const P = a.P ?? 0;
  const S = a.S ?? Smax;
  const scale = a.scale ?? 1 / Math.sqrt(D);
  const group = Hq / Hkv;
  const out = new Float64Array(B * Tn * Hq * D);
  const tap = a.tap ? Float64Array.from(a.tap.buffer) : undefined;
  const scores = new Float64Array(P + S);
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < Tn; t++) {
      const nSuf = causal ? S - Tn + t + 1 : S;
      for (let h = 0; h < Hq; h++) {
        const kvh = Math.floor(h / group);
        const qo = ((b * Tn + t) * Hq + h) * D;
        const oo = qo;
        const patched = a.patch && a.patch.positions.includes(t) && a.patch.mask[(b * a.patch.layers + a.patch.layer) * Hq + h] !== 0;
        if (patched) {
          const vo = (a.patch!.layer * Hq + h) * D;
          for (let d = 0; d < D; d++) out[oo + d] = a.patch!.values[vo + d]!;
          continue;
        }
        // keys in order: prefix 0..P-1, then suffix 0..nSuf-1
        const keyAt = (j: number, kv: ArrayLike<number> | undefined, suf: ArrayLike<number>): [ArrayLike<number>, number] =>
          j < P ? [kv!, (j * Hkv + kvh) * D] : [suf, ((b * Smax + (j - P)) * Hkv + kvh) * D];
        const n = P + nSuf;
        let mx = -Infinity;
        for (let j = 0; j < n; j++) {
          const [k, ko] = keyAt(j, a.kPre, a.kSuf);
          let s = 0;
          for (let d = 0; d < D; d++) s += a.q[qo + d]! * k[ko + d]!;
          scores[j] = s * scale;
          mx = Math.max(mx, scores[j]!);
        }
        let sum = 0;
        for (let j = 0; j < n; j++) sum += scores[j] = Math.exp(scores[j]! - mx);
        for (let j = 0; j < n; j++) {
          const [v, vo] = keyAt(j, a.vPre, a.vSuf);
          const w = scores[j]! / sum;
          for (let d = 0; d < D; d++) out[oo + d] += w * v[vo + d]!;
        }
        if (a.tap && tap) {
          const nPos = a.tap.positions.length;
          a.tap.positions.forEach((p, k) => {
            if (p !== t) return;
            const to = (((b * nPos + k) * a.tap!.layers + a.tap!.layer) * Hq + h) * D;
            for (let d = 0; d < D; d++) tap[to + d] = out[oo + d]!;
          });
        }
      }
    }
  }
  return tap ? { out, tap } : { out };
}

/** cache [B, Smax, row] with src [B, Tn, row] written at rows [at, at + Tn); returns a new array. */
export function refKvAppend(src: ArrayLike<number>, cache: ArrayLike<number>, B: number, Tn: number, Smax: number, row: number, at: number): Float64Array {
  const res = Float64Array.from(cache);
  for (let b = 0; b < B; b++) {
    for (let i = 0; i < Tn * row; i++) res[(b * Smax + at) * row + i] = src[b * Tn * row + i]!;
  }
  return res;
}
