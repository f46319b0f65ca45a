// float64 references of the training attention: forward with the log-sum-exp per (b, t, h),
// and its backward. q [B, T, H, D], k/v [B, T, Hkv, D] (GQA: query head h reads kv head
// floor(h / (H / Hkv))), scale 1/sqrt(D), causal (key j <= query i) or bidirectional.

export interface AttnShape {
  B: number;
  T: number;
  H: number;
  Hkv: number;
  D: number;
  causal: boolean;
}

const qIdx = (s: AttnShape, b: number, t: number, h: number): number => ((b * s.T + t) * s.H + h) * s.D;
const kvIdx = (s: AttnShape, b: number, t: number, h: number): number => ((b * s.T + t) * s.Hkv + h) * s.D;

/** scaled scores s[j] = q_i · k_j / sqrt(D) for the keys query (b, i, h) attends to. */
function scores(s: AttnShape, q: ArrayLike<number>, k: ArrayLike<number>, b: number, i: number, h: number): Float64Array {
  const n = s.causal ? i + 1 : s.T;
  const kvh = Math.floor(h / (s.H / s.Hkv));
  const scale = 1 / Math.sqrt(s.D);
  const out = new Float64Array(n);
  const qo = qIdx(s, b, i, h);
  for (let j = 0; j < n; j++) {
    const ko = kvIdx(s, b, j, kvh);
    let dot = 0;
    for (let d = 0; d < s.D; d++) dot += q[qo + d]! * k[ko + d]!;
    out[j] = dot * scale;
  }
  return out;
}

/** out [B, T, H, D] and lse [B, T, H] (natural log of sum_j exp(s_j)). */
export function refAttentionTrain(s: AttnShape, q: ArrayLike<number>, k: ArrayLike<number>, v: ArrayLike<number>): { out: Float64Array; lse: Float64Array } {
  const out = new Float64Array(s.B * s.T * s.H * s.D);
  const lse = new Float64Array(s.B * s.T * s.H);
  const group = s.H / s.Hkv;
  for (let b = 0; b < s.B; b++) {
    for (let i = 0; i < s.T; i++) {
      for (let h = 0; h < s.H; h++) {
        const sc = scores(s, q, k, b, i, h);
        const mx = Math.max(...sc);
        let sum = 0;
        for (const x of sc) sum += Math.exp(x - mx);
        const l = mx + Math.log(sum);
        lse[(b * s.T + i) * s.H + h] = l;
        const oo = qIdx(s, b, i, h);
        for (let j = 0; j < sc.length; j++) {
          const w = Math.exp(sc[j]! - l);
          const vo = kvIdx(s, b, j, Math.floor(h / group));
          for (let d = 0; d < s.D; d++) out[oo + d] += w * v[vo + d]!;
        }
      }
    }
  }
  return { out, lse };
}

/**
 * With P_ij = softmax_j(s_ij), dP_ij = dO_i · v_j, Delta_i = sum_j P_ij dP_ij (= dO_i · O_i):
 * dS_ij = P_ij (dP_ij - Delta_i), dq_i = scale sum_j dS_ij k_j, dk_j = scale sum_i dS_ij q_i,
 * dv_j = sum_i P_ij dO_i (dk, dv summed over the query heads sharing a kv head).
 */
export function refAttentionBackward(s: AttnShape, q: ArrayLike<number>, k: ArrayLike<number>, v: ArrayLike<number>, dOut: ArrayLike<number>): { dq: Float64Array; dk: Float64Array; dv: Float64Array } {
  const dq = new Float64Array(q.length);
  const dk = new Float64Array(k.length);
  const dv = new Float64Array(v.length);
  const group = s.H / s.Hkv;
  const scale = 1 / Math.sqrt(s.D);
  for (let b = 0; b < s.B; b++) {
    for (let i = 0; i < s.T; i++) {
      for (let h = 0; h < s.H; h++) {
        const kvh = Math.floor(h / group);
        const sc = scores(s, q, k, b, i, h);
        const mx = Math.max(...sc);
        let sum = 0;
        for (const x of sc) sum += Math.exp(x - mx);
        const P = sc.map((x) => Math.exp(x - mx) / sum);
        const qo = qIdx(s, b, i, h);
        const dP = P.map((_, j) => {
          const vo = kvIdx(s, b, j, kvh);
          let d = 0;
          for (let e = 0; e < s.D; e++) d += dOut[qo + e]! * v[vo + e]!;
          return d;
        });
        let delta = 0;
        for (let j = 0; j < P.length; j++) delta += P[j]! * dP[j]!;
        for (let j = 0; j < P.length; j++) {
          const ds = P[j]! * (dP[j]! - delta);
          const ko = kvIdx(s, b, j, kvh);
          for (let e = 0; e < s.D; e++) {
            dq[qo + e] += scale * ds * k[ko + e]!;
            dk[ko + e] += scale * ds * q[qo + e]!;
            dv[ko + e] += P[j]! * dOut[qo + e]!;
          }
        }
      }
    }
  }
  return { dq, dk, dv };
}
