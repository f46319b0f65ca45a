// Training attention (wgsl/grad/attention_*.wgsl): a forward that saves the log-sum-exp per
// (b, t, h), and its backward (dq; dk, dv without atomics; GQA partials summed per kv head).
import { checkDtype, checkRank, checkShape, checkThat } from '../../check.js';
import { KernelError, fmtShape } from '../../errors.js';
import { grid1d, type Recorder } from '../../recorder.js';
import type { Tensor } from '../../tensor.js';
import { params, wgsl } from '../../wgsl.js';
import { LLVMPIPE_LOOP_CAP } from '../rowwise.js';

const WG = 64;

export interface AttentionTrainOptions {
  /** Query i attends to keys j <= i (decoder); false: all keys (vision tower). */
  causal: boolean;
  /** Score scale; default 1 / sqrt(D). */
  scale?: number;
}

interface Dims {
  B: number;
  T: number;
  H: number;
  Hkv: number;
  D: number;
}

/** The kernel text with its D4 const set (it sizes private arrays, so it cannot be an override). */
function code(file: string, d4: number): string {
  const src = wgsl(`grad/${file}`);
  const out = src.replace(/^const D4: u32 = \d+u;$/m, `const D4: u32 = ${d4}u;`);
  if (!/^const D4: u32 = \d+u;$/m.test(src)) throw new KernelError(file, "the template has no 'const D4: u32 = ...;' line to rewrite");
  return out;
}

function dims(K: string, q: Tensor, k: Tensor, v: Tensor): Dims {
  for (const [what, t] of [['q', q], ['k', k], ['v', v]] as const) {
    checkDtype(K, t, 'f32');
    checkRank(K, t, 4);
    checkThat(K, t.size > 0, `${what} ${fmtShape(t.shape)} is empty`);
  }
  const [B, T, H, D] = q.shape as [number, number, number, number];
  const Hkv = k.shape[2]!;
  checkShape(K, `k for q ${fmtShape(q.shape)}`, k, [B, T, Hkv, D]);
  checkShape(K, `v for q ${fmtShape(q.shape)}`, v, k.shape);
  checkThat(K, H % Hkv === 0, `q heads ${H} (q ${fmtShape(q.shape)}) are not a multiple of kv heads ${Hkv} (k ${fmtShape(k.shape)})`);
  checkThat(K, D % 4 === 0 && D <= 256, `head dim ${D} (q ${fmtShape(q.shape)}) must be a multiple of 4 and at most 256`);
  // the longest per-invocation loop: T keys (or queries) x about 3 sweeps of D/4 (llvmpipe's cap, rowwise.ts)
  const iters = T * (3 * (D / 4) + 2);
  checkThat(K, iters <= LLVMPIPE_LOOP_CAP, `sequence length ${T} at head dim ${D} needs ~${iters} loop iterations per invocation; llvmpipe stops loops after ${LLVMPIPE_LOOP_CAP}`);
  return { B, T, H, Hkv, D };
}

const uniforms = (n: number, s: Dims, causal: boolean, scale: number): Uint32Array => params([n, s.T, s.H, s.Hkv, causal ? 1 : 0, { f32: scale }, 0, 0]);

/**
 * out [B, T, H, D] = softmax(scale q kᵀ) v and lse [B, T, H] (log of each row's softmax
 * denominator, scores included), for q [B, T, H, D], k/v [B, T, Hkv, D].
 */
export async function attentionTrain(rec: Recorder, q: Tensor, k: Tensor, v: Tensor, opts: AttentionTrainOptions): Promise<{ out: Tensor; lse: Tensor }> {
  const K = 'attentionTrain';
  const s = dims(K, q, k, v);
  const scale = opts.scale ?? 1 / Math.sqrt(s.D);
  const out = rec.gpu.empty(q.shape, 'f32', `${K} out`);
  const lse = rec.gpu.empty([s.B, s.T, s.H], 'f32', `${K} lse`);
  const n = s.B * s.T * s.H;
  const pipe = await rec.gpu.pipeline(K, code('attention_fwd.wgsl', s.D / 4), { WG });
  rec.dispatch(pipe, uniforms(n, s, opts.causal, scale), [q, k, v, out, lse], grid1d(n, WG), 2);
  return { out, lse };
}

/**
 * dq [B, T, H, D], dk and dv [B, T, Hkv, D] of attentionTrain's output given dOut, from the
 * forward's inputs, its output and its lse (the softmax is recomputed, not stored).
 */
export async function attentionBackward(rec: Recorder, q: Tensor, k: Tensor, v: Tensor, out: Tensor, dOut: Tensor, lse: Tensor, opts: AttentionTrainOptions): Promise<{ dq: Tensor; dk: Tensor; dv: Tensor }> {
  const K = 'attentionBackward';
  const s = dims(K, q, k, v);
  for (const [what, t] of [['out', out], ['dOut', dOut]] as const) {
    checkDtype(K, t, 'f32');
    checkShape(K, `${what} for q ${fmtShape(q.shape)}`, t, q.shape);
  }
  checkDtype(K, lse, 'f32');
  checkShape(K, `lse for q ${fmtShape(q.shape)}`, lse, [s.B, s.T, s.H]);
  const scale = opts.scale ?? 1 / Math.sqrt(s.D);
  const d4 = s.D / 4;
  const n = s.B * s.T * s.H;
  const u = uniforms(n, s, opts.causal, scale);
  const dq = rec.gpu.empty(q.shape, 'f32', `${K} dq`);
  const delta = rec.gpu.empty([s.B, s.T, s.H], 'f32', `${K} delta`);
  const dqPipe = await rec.gpu.pipeline(`${K} dq`, code('attention_dq.wgsl', d4), { WG });
  rec.dispatch(dqPipe, u, [q, k, v, out, dOut, lse, dq, delta], grid1d(n, WG), 2);
  const group = s.H / s.Hkv;
  // per query head; with GQA, partials summed over each kv head's group below
  const dkH = rec.gpu.empty(q.shape, 'f32', `${K} dk`);
  const dvH = rec.gpu.empty(q.shape, 'f32', `${K} dv`);
  const kvPipe = await rec.gpu.pipeline(`${K} dkdv`, code('attention_dkdv.wgsl', d4), { WG });
  rec.dispatch(kvPipe, u, [q, k, v, dOut, lse, delta, dkH, dvH], grid1d(n, WG), 2);
  rec.releaseAfterSubmit(delta);
  if (group === 1) return { dq, dk: dkH, dv: dvH };
  const dk = rec.gpu.empty(k.shape, 'f32', `${K} dk`);
  const dv = rec.gpu.empty(k.shape, 'f32', `${K} dv`);
  const sumPipe = await rec.gpu.pipeline(`${K} group sum`, wgsl('grad/head_group_sum.wgsl'), { WG: 256 });
  const nv = k.size / 4;
  for (const [src, dst] of [[dkH, dk], [dvH, dv]] as const) {
    rec.dispatch(sumPipe, params([nv, group, d4, 0]), [src, dst], grid1d(nv, 256));
  }
  rec.releaseAfterSubmit(dkH, dvH);
  return { dq, dk, dv };
}
