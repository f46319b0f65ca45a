// Host side of the training kernels (wgsl.ts): shape guards, pipeline lookup, dispatch. Every op
// records into a Recorder and never submits; written tensors are either given (`out`) or taken
// from the pool and handed to `rec.releaseAfterSubmit` by the caller through `tmp`.
import { KernelError, fmtShape, grid1d, params, type Gpu, type PipelineEntry, type Recorder, type Tensor } from '@mtv/kernels';
import * as W from './wgsl.js';

export type ActKind = 'quick_gelu' | 'gelu';
const ACT_KIND: Record<ActKind, number> = { quick_gelu: 0, gelu: 1 };

function check(kernel: string, ok: boolean, msg: string): void {
  if (!ok) throw new KernelError(kernel, msg);
}

const g1 = (n: number): number[] => grid1d(n, 256);

export class TrainOps {
  private readonly pipes = new Map<string, Promise<PipelineEntry>>();
  /** Temporaries of the step being recorded; released after its submit. */
  private temps: Tensor[] = [];

  constructor(readonly gpu: Gpu) {}

  private pipe(name: string, code: string, constants: Record<string, number> = {}): Promise<PipelineEntry> {
    const key = `${name}:${JSON.stringify(constants)}`;
    let p = this.pipes.get(key);
    if (!p) {
      p = this.gpu.pipeline(`train.${name}`, code, constants);
      this.pipes.set(key, p);
    }
    return p;
  }

  /** A pooled f32 tensor owned by the current step. */
  tmp(shape: readonly number[], label = 'train'): Tensor {
    const t = this.gpu.empty(shape, 'f32', label);
    this.temps.push(t);
    return t;
  }

  /** Uploads host data as a step temporary. */
  tmpUpload(data: Float32Array | Int32Array, shape: readonly number[], label = 'train.upload'): Tensor {
    const t = this.gpu.upload(data, shape, data instanceof Int32Array ? 'i32' : 'f32', { label });
    this.temps.push(t);
    return t;
  }

  /** Hands the step's temporaries to the recorder (released once it is submitted). */
  releaseTemps(rec: Recorder): void {
    rec.releaseAfterSubmit(...this.temps);
    this.temps = [];
  }

  /**
   * C[M,N] (+)= alpha·op(A)·op(B). `a` is X [M,K] (transA false) or [K,M]; `b` is W [N,K] (transB
   * true, the nn.Linear layout) or [K,N].
   */
  async gemm(rec: Recorder, a: Tensor, transA: boolean, b: Tensor, transB: boolean, c: Tensor, opts: { acc?: boolean; alpha?: number } = {}): Promise<Tensor> {
    const K = 'train.gemm';
    check(K, a.rank === 2 && b.rank === 2 && c.rank === 2, `A ${fmtShape(a.shape)}, B ${fmtShape(b.shape)}, C ${fmtShape(c.shape)} must be 2-D`);
    const [a0, a1] = a.shape as [number, number];
    const [b0, b1] = b.shape as [number, number];
    const m = transA ? a1 : a0;
    const k = transA ? a0 : a1;
    const n = transB ? b0 : b1;
    const kb = transB ? b1 : b0;
    check(K, k === kb, `inner dimensions differ: A ${fmtShape(a.shape)}${transA ? 'ᵀ' : ''} · B ${fmtShape(b.shape)}${transB ? 'ᵀ' : ''}`);
    check(K, c.shape[0] === m && c.shape[1] === n, `C ${fmtShape(c.shape)} is not [${m}, ${n}] for A ${fmtShape(a.shape)}, B ${fmtShape(b.shape)}`);
    const alpha = opts.alpha ?? 1;
    const variant = transA && transB ? null : transA ? 'TN' : transB ? 'NT' : 'NN';
    // vec4 variants need K and N (and M when A is transposed) to be multiples of 4, and alpha 1.
    if (variant && alpha === 1 && k % 4 === 0 && n % 4 === 0 && (!transA || m % 4 === 0)) {
      const code = variant === 'NT' ? W.GEMM4_NT : variant === 'NN' ? W.GEMM4_NN : W.GEMM4_TN;
      const pipe = await this.pipe(`gemm4${variant}`, code);
      rec.dispatch(pipe, params([m, n, k, opts.acc ? 1 : 0]), [a, b, c], [Math.ceil(n / 32), Math.ceil(m / 32)]);
      return c;
    }
    const sam = transA ? 1 : a1;
    const sak = transA ? a1 : 1;
    const sbk = transB ? 1 : b1;
    const sbn = transB ? b1 : 1;
    const pipe = await this.pipe('gemm', W.GEMM);
    rec.dispatch(pipe, params([m, n, k, sam, sak, sbk, sbn, opts.acc ? 1 : 0, { f32: alpha }, 0, 0, 0]), [a, b, c], [Math.ceil(n / 32), Math.ceil(m / 32)]);
    return c;
  }

  /** y = x·Wᵀ + b for x [M, in], W [out, in]. */
  async linear(rec: Recorder, x: Tensor, w: Tensor, b: Tensor | null): Promise<Tensor> {
    const y = this.tmp([x.shape[0]!, w.shape[0]!], 'linear');
    await this.gemm(rec, x, false, w, true, y);
    if (b) await this.biasAdd(rec, y, b);
    return y;
  }

  /** Backward of linear: dW += dyᵀ·x, db += Σ dy, and dx = dy·W (returned unless skipDx). */
  async linearBwd(rec: Recorder, x: Tensor, w: Tensor, dy: Tensor, dw: Tensor, db: Tensor | null, skipDx = false): Promise<Tensor | null> {
    await this.gemm(rec, dy, true, x, false, dw, { acc: true });
    if (db) await this.colsum(rec, dy, db);
    if (skipDx) return null;
    const dx = this.tmp(x.shape, 'linear.dx');
    await this.gemm(rec, dy, false, w, false, dx);
    return dx;
  }

  async biasAdd(rec: Recorder, x: Tensor, bias: Tensor): Promise<void> {
    const n = bias.size;
    check('train.biasAdd', x.size % n === 0 && x.shape[x.rank - 1] === n, `bias ${fmtShape(bias.shape)} does not match ${fmtShape(x.shape)}`);
    rec.dispatch(await this.pipe('bias', W.BIAS_ADD), params([x.size, n, 0, 0]), [bias, x], g1(x.size));
  }

  async colsum(rec: Recorder, dy: Tensor, db: Tensor, acc = true): Promise<void> {
    const n = db.size;
    check('train.colsum', dy.shape[dy.rank - 1] === n, `bias grad ${fmtShape(db.shape)} does not match ${fmtShape(dy.shape)}`);
    rec.dispatch(await this.pipe('colsum', W.COLSUM), params([dy.size / n, n, acc ? 1 : 0, 0]), [dy, db], g1(n));
  }

  /** a += b in place. */
  async addInto(rec: Recorder, a: Tensor, b: Tensor): Promise<void> {
    check('train.addInto', a.size === b.size, `${fmtShape(a.shape)} += ${fmtShape(b.shape)}`);
    rec.dispatch(await this.pipe('add', W.ADD), params([a.size, 0, 0, 0]), [b, a], g1(a.size));
  }

  async add(rec: Recorder, a: Tensor, b: Tensor): Promise<Tensor> {
    check('train.add', a.size === b.size, `${fmtShape(a.shape)} + ${fmtShape(b.shape)}`);
    const y = this.tmp(a.shape, 'add');
    rec.dispatch(await this.pipe('copyAdd', W.COPY_ADD), params([a.size, 0, 0, 0]), [a, b, y], g1(a.size));
    return y;
  }

  async fill(rec: Recorder, t: Tensor, value: number): Promise<void> {
    rec.dispatch(await this.pipe('fill', W.FILL), params([t.size, { f32: value }, 0, 0]), [t], g1(t.size));
  }

  async act(rec: Recorder, kind: ActKind, x: Tensor): Promise<Tensor> {
    const y = this.tmp(x.shape, kind);
    rec.dispatch(await this.pipe('act', W.ACT_FWD, { KIND: ACT_KIND[kind] }), params([x.size, 0, 0, 0]), [x, y], g1(x.size));
    return y;
  }

  async actBwd(rec: Recorder, kind: ActKind, x: Tensor, dy: Tensor): Promise<Tensor> {
    const dx = this.tmp(x.shape, `${kind}.bwd`);
    rec.dispatch(await this.pipe('actBwd', W.ACT_BWD, { KIND: ACT_KIND[kind] }), params([x.size, 0, 0, 0]), [x, dy, dx], g1(x.size));
    return dx;
  }

  async swiglu(rec: Recorder, g: Tensor, u: Tensor): Promise<Tensor> {
    const y = this.tmp(g.shape, 'swiglu');
    rec.dispatch(await this.pipe('swiglu', W.SWIGLU_FWD), params([g.size, 0, 0, 0]), [g, u, y], g1(g.size));
    return y;
  }

  async swigluBwd(rec: Recorder, g: Tensor, u: Tensor, dy: Tensor): Promise<[Tensor, Tensor]> {
    const dg = this.tmp(g.shape, 'swiglu.dg');
    const du = this.tmp(g.shape, 'swiglu.du');
    rec.dispatch(await this.pipe('swigluBwd', W.SWIGLU_BWD), params([g.size, 0, 0, 0]), [g, u, dy, dg, du], g1(g.size), 2);
    return [dg, du];
  }

  async rmsnorm(rec: Recorder, x: Tensor, w: Tensor, eps: number): Promise<{ y: Tensor; rstd: Tensor }> {
    const [rows, h] = x.shape as [number, number];
    check('train.rmsnorm', w.size === h, `weight ${fmtShape(w.shape)} for x ${fmtShape(x.shape)}`);
    const y = this.tmp(x.shape, 'rms');
    const rstd = this.tmp([rows], 'rms.rstd');
    rec.dispatch(await this.pipe('rms', W.RMS_FWD), params([rows, h, { f32: eps }, 0]), [x, w, y, rstd], g1(rows), 2);
    return { y, rstd };
  }

  async rmsnormBwd(rec: Recorder, x: Tensor, w: Tensor, rstd: Tensor, dy: Tensor, dw: Tensor): Promise<Tensor> {
    const [rows, h] = x.shape as [number, number];
    const dx = this.tmp(x.shape, 'rms.dx');
    rec.dispatch(await this.pipe('rmsBx', W.RMS_BWD_X), params([rows, h, 0, 0]), [x, w, rstd, dy, dx], g1(rows));
    rec.dispatch(await this.pipe('rmsBw', W.RMS_BWD_W), params([rows, h, 0, 0]), [x, rstd, dy, dw], g1(h));
    return dx;
  }

  async layernorm(rec: Recorder, x: Tensor, w: Tensor, b: Tensor, eps: number): Promise<{ y: Tensor; stats: Tensor }> {
    const [rows, h] = x.shape as [number, number];
    check('train.layernorm', w.size === h && b.size === h, `weight ${fmtShape(w.shape)} bias ${fmtShape(b.shape)} for x ${fmtShape(x.shape)}`);
    const y = this.tmp(x.shape, 'ln');
    const stats = this.tmp([rows, 2], 'ln.stats');
    rec.dispatch(await this.pipe('ln', W.LN_FWD), params([rows, h, { f32: eps }, 0]), [x, w, b, y, stats], g1(rows), 2);
    return { y, stats };
  }

  async layernormBwd(rec: Recorder, x: Tensor, w: Tensor, stats: Tensor, dy: Tensor, dw: Tensor, db: Tensor): Promise<Tensor> {
    const [rows, h] = x.shape as [number, number];
    const dx = this.tmp(x.shape, 'ln.dx');
    rec.dispatch(await this.pipe('lnBx', W.LN_BWD_X), params([rows, h, 0, 0]), [x, w, stats, dy, dx], g1(rows));
    rec.dispatch(await this.pipe('lnBw', W.LN_BWD_W), params([rows, h, 0, 0]), [x, stats, dy, dw, db], g1(h), 2);
    return dx;
  }

  /** RoPE of x [N, heads*d] at positions pos (i32 [N]); inverse rotation when `inverse`. */
  async rope(rec: Recorder, x: Tensor, pos: Tensor, heads: number, d: number, theta: number, inverse = false): Promise<Tensor> {
    const rows = x.shape[0]!;
    check('train.rope', x.shape[1] === heads * d && d % 2 === 0 && pos.size === rows, `x ${fmtShape(x.shape)}, ${heads} heads of ${d}, pos ${fmtShape(pos.shape)}`);
    const y = this.tmp(x.shape, 'rope');
    const n = (rows * heads * d) / 2;
    rec.dispatch(await this.pipe('rope', W.ROPE), params([rows, heads, d, { f32: theta }, { f32: inverse ? -1 : 1 }, 0, 0, 0]), [x, pos, y], g1(n));
    return y;
  }

  /** Segment attention: seg is i32 [N, 2] (start, end) per row. Returns out [N, heads*d] and lse [N*heads]. */
  async attention(rec: Recorder, q: Tensor, k: Tensor, v: Tensor, seg: Tensor, heads: number, causal: boolean): Promise<{ out: Tensor; lse: Tensor }> {
    const [rows, w] = q.shape as [number, number];
    const d = w / heads;
    check('train.attention', Number.isInteger(d) && k.size === q.size && v.size === q.size && seg.size === 2 * rows, `q ${fmtShape(q.shape)} k ${fmtShape(k.shape)} v ${fmtShape(v.shape)} seg ${fmtShape(seg.shape)} heads ${heads}`);
    const out = this.tmp(q.shape, 'attn.out');
    const lse = this.tmp([rows * heads], 'attn.lse');
    const u = params([rows, heads, causal ? 1 : 0, { f32: 1 / Math.sqrt(d) }]);
    rec.dispatch(await this.pipe(`attnF${d}`, W.attnFwd(d)), u, [q, k, v, seg, out, lse], g1(rows * heads), 2);
    return { out, lse };
  }

  async attentionBwd(rec: Recorder, q: Tensor, k: Tensor, v: Tensor, out: Tensor, lse: Tensor, dout: Tensor, seg: Tensor, heads: number, causal: boolean): Promise<{ dq: Tensor; dk: Tensor; dv: Tensor }> {
    const [rows, w] = q.shape as [number, number];
    const d = w / heads;
    const dq = this.tmp(q.shape, 'attn.dq');
    const dk = this.tmp(q.shape, 'attn.dk');
    const dv = this.tmp(q.shape, 'attn.dv');
    const delta = this.tmp([rows * heads], 'attn.delta');
    const u = params([rows, heads, causal ? 1 : 0, { f32: 1 / Math.sqrt(d) }]);
    rec.dispatch(await this.pipe(`attnQ${d}`, W.attnBwdQ(d)), u, [q, k, v, out, dout, lse, seg, dq, delta], g1(rows * heads), 2);
    rec.dispatch(await this.pipe(`attnKV${d}`, W.attnBwdKV(d)), u, [q, k, v, dout, lse, delta, seg, dk, dv], g1(rows * heads), 2);
    return { dq, dk, dv };
  }

  /** out[r] = src[idx[r]] (zero row for idx < 0); idx i32 [R]. */
  async gatherRows(rec: Recorder, src: Tensor, idx: Tensor): Promise<Tensor> {
    const h = src.shape[1]!;
    const y = this.tmp([idx.size, h], 'gather');
    rec.dispatch(await this.pipe('gather', W.GATHER), params([idx.size, h, 0, 0]), [src, idx, y], g1(idx.size * h));
    return y;
  }

  /** dst[idx[r]] = src[r] in place. */
  async scatterRows(rec: Recorder, dst: Tensor, src: Tensor, idx: Tensor): Promise<void> {
    const h = dst.shape[1]!;
    check('train.scatterRows', src.shape[1] === h && src.shape[0] === idx.size, `src ${fmtShape(src.shape)} idx ${fmtShape(idx.shape)} dst ${fmtShape(dst.shape)}`);
    rec.dispatch(await this.pipe('scatter', W.SCATTER), params([idx.size, h, 0, 0]), [src, idx, dst], g1(idx.size * h));
  }

  async embeddingBwd(rec: Recorder, dy: Tensor, ids: Tensor, dtable: Tensor): Promise<void> {
    const [vocab, h] = dtable.shape as [number, number];
    rec.dispatch(await this.pipe('embedBwd', W.EMBED_BWD), params([ids.size, h, vocab, 0]), [dy, ids, dtable], g1(vocab * h));
  }

  async visionEmbed(rec: Recorder, patch: Tensor, cls: Tensor, pos: Tensor, images: number, tokens: number): Promise<Tensor> {
    const h = cls.size;
    const x = this.tmp([images * tokens, h], 'vis.embed');
    rec.dispatch(await this.pipe('visEmbed', W.VIS_EMBED), params([images, tokens, h, 0]), [patch, cls, pos, x], g1(x.size));
    return x;
  }

  async visionEmbedBwd(rec: Recorder, dx: Tensor, dpos: Tensor, dcls: Tensor, images: number, tokens: number): Promise<void> {
    const h = dcls.size;
    rec.dispatch(await this.pipe('visEmbedBwd', W.VIS_EMBED_BWD), params([images, tokens, h, 0]), [dx, dpos, dcls], g1(tokens * h), 2);
  }

  /** Weighted softmax cross-entropy: returns dlogits and [R, 2] (loss, correct). */
  async crossEntropy(rec: Recorder, logits: Tensor, targets: Tensor, weights: Tensor): Promise<{ dlogits: Tensor; loss: Tensor }> {
    const [rows, vocab] = logits.shape as [number, number];
    check('train.crossEntropy', targets.size === rows && weights.size === rows, `logits ${fmtShape(logits.shape)} targets ${fmtShape(targets.shape)} weights ${fmtShape(weights.shape)}`);
    const dlogits = this.tmp(logits.shape, 'ce.dlogits');
    const loss = this.tmp([rows, 2], 'ce.loss');
    rec.dispatch(await this.pipe('ce', W.CE), params([rows, vocab, 0, 0]), [logits, targets, weights, dlogits, loss], g1(rows), 2);
    return { dlogits, loss };
  }

  async sumSquares(rec: Recorder, g: Tensor, out: Tensor): Promise<void> {
    rec.dispatch(await this.pipe('sumsq', W.SUMSQ), params([g.size, 0, 0, 0]), [g, out], [1]);
  }

  async adamw(
    rec: Recorder,
    bufs: { w: Tensor; g: Tensor; m: Tensor; v: Tensor; sq: Tensor },
    range: { off: number; count: number },
    h: { lr: number; wd: number; b1: number; b2: number; eps: number; clip: number; step: number },
  ): Promise<void> {
    if (range.count === 0) return;
    const u = params([range.off, range.count, { f32: h.lr }, { f32: h.wd }, { f32: h.b1 }, { f32: h.b2 }, { f32: h.eps }, { f32: h.clip }, { f32: 1 - h.b1 ** h.step }, { f32: 1 - h.b2 ** h.step }, 0, 0]);
    rec.dispatch(await this.pipe('adamw', W.ADAMW), u, [bufs.g, bufs.sq, bufs.w, bufs.m, bufs.v], g1(range.count), 3);
  }
}
