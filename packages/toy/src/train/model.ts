// The LLaVA training forward and backward on the packed token stream, recorded into one Recorder:
// CLIP tower (pre-LN encoder, quick_gelu MLP) -> "default" select (drop CLS) -> linear-GELU-linear
// projector -> image rows of the embeddings -> Llama decoder (RMSNorm, RoPE, SwiGLU) -> lm_head on
// the answer rows only -> cross-entropy. Every kernel is an @mtv/kernels op.
//
// Attention: the step packs several sequences into one token stream, and each must attend only
// within itself (block-diagonal causal). The kernels' attentionTrain works on [B, T, H, D]
// batches, so q/k/v rows are moved into a zero-padded batch (one sequence per batch row, its
// tokens at t = 0.., padding after them) and back. Padding sits after every real token, so the
// causal mask already keeps it out of real rows, and RoPE at pos0 = 0 gives each token its
// in-sequence position. Images are all the same length: the tower's rows reshape directly.
import { activationBackward, attentionBackward, attentionTrain, binary, colSum, crossEntropyTrain, embedding, embeddingBackward, gemm, layernorm, layernormBackward, argmax, rmsnorm, rmsnormBackward, rope, ropeBackward, scatterRows, siluMulBackward, unary, type Recorder, type Tensor } from '@mtv/kernels';
import { PROJECTOR_PREFIX, TEXT_PREFIX, VISION_PREFIX, type LlavaConfig } from '@mtv/model';
import type { PackedBatch } from './data.js';
import type { TrainOps } from './ops.js';
import type { ParamStore } from './params.js';

/** Where each packed row sits in the padded attention batch [B, T] and back. */
interface AttnLayout {
  B: number;
  T: number;
  /** [n]: slot b·T + t of each packed row, -1 for the stream's trailing padding. */
  toPad: Int32Array;
  /** [B·T]: packed row of each slot, -1 for padding slots. */
  fromPad: Int32Array;
}

interface Inputs {
  n: number;
  ids: Int32Array;
  gradIds: Int32Array;
  attn: AttnLayout;
  imageRows: Int32Array;
  patches: Tensor | null;
  /** Rows of the tower output kept by "default" (all but each image's CLS row). */
  visSel: Int32Array;
  /** Each image's CLS row in the tower's rows. */
  clsRows: Int32Array;
  targetRows: Int32Array;
  targetIds: Int32Array;
}

interface VisionLayerTape {
  hIn: Tensor;
  ln1: Tensor;
  /** q, k, v, out as [images, tokens, heads, d]. */
  q: Tensor;
  k: Tensor;
  v: Tensor;
  att: { out: Tensor; lse: Tensor };
  h1: Tensor;
  ln2: Tensor;
  f1: Tensor;
  a: Tensor;
}

interface TextLayerTape {
  hIn: Tensor;
  n1: Tensor;
  /** q, k (rotated), v and out in the padded attention batch [B, T, heads, d]. */
  q: Tensor;
  k: Tensor;
  v: Tensor;
  att: { out: Tensor; lse: Tensor };
  /** att.out back in packed rows [n, heads·d] (o_proj input). */
  attOut: Tensor;
  h1: Tensor;
  n2: Tensor;
  g: Tensor;
  u: Tensor;
  s: Tensor;
}

export interface ForwardTape {
  inputs: Inputs;
  images: number;
  vision?: { x0: Tensor; layers: VisionLayerTape[]; feats: Tensor; p1: Tensor; pa: Tensor };
  text: TextLayerTape[];
  hLast: Tensor;
  nf: Tensor;
  sel: Tensor;
  /** [R, vocab] logits of the target rows. */
  logits: Tensor;
}

/** The backward's per-target results: loss [R] f32 and the argmax prediction [R] i32. */
export interface TargetResults {
  loss: Tensor;
  pred: Tensor;
}

/** The padded attention batch of a packed stream: one sequence per batch row. */
export function attentionLayout(b: PackedBatch): AttnLayout {
  const B = b.sequences.length;
  const T = Math.max(1, ...b.sequences.map((s) => s.ids.length));
  const toPad = new Int32Array(b.n).fill(-1);
  const fromPad = new Int32Array(B * T).fill(-1);
  let o = 0;
  b.sequences.forEach((s, i) => {
    for (let t = 0; t < s.ids.length; t++) {
      toPad[o + t] = i * T + t;
      fromPad[i * T + t] = o + t;
    }
    o += s.ids.length;
  });
  return { B, T, toPad, fromPad };
}

const V = VISION_PREFIX;
const T = TEXT_PREFIX;
const P = PROJECTOR_PREFIX;

export class LlavaTrainer {
  readonly tokensPerImage: number;
  readonly positions: number;

  constructor(readonly ops: TrainOps, readonly params: ParamStore, readonly config: LlavaConfig) {
    this.tokensPerImage = config.imageSeqLength;
    this.positions = config.vision.numPositions;
    if (config.visionFeatureSelectStrategy !== 'default' || !config.vision.classToken || config.vision.patchBias) {
      throw new Error('LlavaTrainer: only CLIP towers with the "default" select strategy are trainable here');
    }
    if (config.visionHiddenStateIndex !== config.vision.numLayers) throw new Error(`LlavaTrainer: vision_feature_layer must select the last layer (index ${config.vision.numLayers}), got ${config.visionHiddenStateIndex}`);
    if (config.text.numKvHeads !== config.text.numHeads || config.text.qkvBias || config.text.oBias || config.text.mlpBias || config.tieWordEmbeddings) {
      throw new Error('LlavaTrainer: the decoder must be plain Llama (no GQA, no biases, untied lm_head)');
    }
  }

  private w(name: string): Tensor {
    return this.params.weight(name);
  }

  private gr(name: string): Tensor {
    return this.params.grad(name);
  }

  /** The batch's index arrays (host) and patches (a step temporary). */
  upload(b: PackedBatch): Inputs {
    const patchDim = 3 * this.config.vision.patchSize ** 2;
    const nTok = this.positions;
    const visSel = new Int32Array(b.images * (nTok - 1));
    const clsRows = new Int32Array(b.images);
    for (let i = 0; i < b.images; i++) {
      clsRows[i] = i * nTok;
      for (let t = 1; t < nTok; t++) visSel[i * (nTok - 1) + t - 1] = i * nTok + t;
    }
    const r = b.targetRows.length;
    // crossEntropyTrain averages over the scored rows: the packer's weights must be that mean.
    if (b.targetWeights.some((w) => Math.abs(w - 1 / r) > 1e-7)) throw new Error(`LlavaTrainer: target weights must all be 1/${r} (the mean over answer tokens)`);
    return {
      n: b.n,
      ids: b.ids,
      gradIds: b.gradIds,
      attn: attentionLayout(b),
      imageRows: b.imageRows,
      patches: b.images > 0 ? this.ops.keep(this.ops.gpu.upload(b.patches, [b.images * (nTok - 1), patchDim], 'f32', { label: 'train.patches' })) : null,
      visSel,
      clsRows,
      targetRows: b.targetRows,
      targetIds: b.targetIds,
    };
  }

  async forward(rec: Recorder, b: PackedBatch): Promise<ForwardTape> {
    const o = this.ops;
    const k = <X extends Tensor>(t: X): X => o.keep(t);
    const c = this.config;
    const inputs = this.upload(b);
    const tape: Partial<ForwardTape> = { inputs, images: b.images, text: [] };

    // ---- vision tower + projector
    let imageFeatures: Tensor | null = null;
    if (b.images > 0) {
      const vc = c.vision;
      const nTok = this.positions;
      const rows = b.images * nTok;
      const hv = vc.hiddenSize;
      const dv = hv / vc.numHeads;
      const pe = await o.linear(rec, inputs.patches!, this.w(`${V}embeddings.patch_embedding.weight`), null);
      // x0 = [CLS, patches] per image + position embeddings
      const placed = await o.placeRows(rec, pe, inputs.visSel, rows);
      const cls = k(await embedding(rec, this.w(`${V}embeddings.class_embedding`).reshape([1, hv]), new Int32Array(b.images)));
      await scatterRows(rec, placed, cls, inputs.clsRows);
      const x0 = k(await binary(rec, 'add', placed.reshape([b.images, nTok, hv]), this.w(`${V}embeddings.position_embedding.weight`))).reshape([rows, hv]);
      let h = k(await layernorm(rec, x0, this.w(`${V}pre_layrnorm.weight`), this.w(`${V}pre_layrnorm.bias`), vc.layerNormEps));
      const heads = (t: Tensor): Tensor => t.reshape([b.images, nTok, vc.numHeads, dv]);
      const layers: VisionLayerTape[] = [];
      for (let l = 0; l < vc.numLayers; l++) {
        const L = `${V}encoder.layers.${l}.`;
        const ln1 = k(await layernorm(rec, h, this.w(`${L}layer_norm1.weight`), this.w(`${L}layer_norm1.bias`), vc.layerNormEps));
        const q = heads(await o.linear(rec, ln1, this.w(`${L}self_attn.q_proj.weight`), this.w(`${L}self_attn.q_proj.bias`)));
        const kk = heads(await o.linear(rec, ln1, this.w(`${L}self_attn.k_proj.weight`), this.w(`${L}self_attn.k_proj.bias`)));
        const v = heads(await o.linear(rec, ln1, this.w(`${L}self_attn.v_proj.weight`), this.w(`${L}self_attn.v_proj.bias`)));
        const att = await attentionTrain(rec, q, kk, v, { causal: false });
        k(att.out);
        k(att.lse);
        const ao = await o.linear(rec, att.out.reshape([rows, hv]), this.w(`${L}self_attn.out_proj.weight`), this.w(`${L}self_attn.out_proj.bias`));
        const h1 = k(await binary(rec, 'add', h, ao));
        const ln2 = k(await layernorm(rec, h1, this.w(`${L}layer_norm2.weight`), this.w(`${L}layer_norm2.bias`), vc.layerNormEps));
        const f1 = await o.linear(rec, ln2, this.w(`${L}mlp.fc1.weight`), this.w(`${L}mlp.fc1.bias`));
        const a = k(await unary(rec, 'quick_gelu', f1));
        const f2 = await o.linear(rec, a, this.w(`${L}mlp.fc2.weight`), this.w(`${L}mlp.fc2.bias`));
        layers.push({ hIn: h, ln1, q, k: kk, v, att, h1, ln2, f1, a });
        h = k(await binary(rec, 'add', h1, f2));
      }
      const feats = k(await embedding(rec, h, inputs.visSel));
      const p1 = await o.linear(rec, feats, this.w(`${P}linear_1.weight`), this.w(`${P}linear_1.bias`));
      const pa = k(await unary(rec, 'gelu', p1));
      imageFeatures = await o.linear(rec, pa, this.w(`${P}linear_2.weight`), this.w(`${P}linear_2.bias`));
      tape.vision = { x0, layers, feats, p1, pa };
    }

    // ---- decoder
    const t = c.text;
    const A = inputs.attn;
    const slots = A.B * A.T;
    const padded = async (x: Tensor): Promise<Tensor> => (await o.placeRows(rec, x, A.toPad, slots)).reshape([A.B, A.T, t.numHeads, t.headDim]);
    let h = k(await embedding(rec, this.w(`${T}embed_tokens.weight`), inputs.ids));
    if (imageFeatures) await scatterRows(rec, h, imageFeatures, inputs.imageRows);
    for (let l = 0; l < t.numLayers; l++) {
      const L = `${T}layers.${l}.`;
      const n1 = k(await rmsnorm(rec, h, this.w(`${L}input_layernorm.weight`), t.rmsNormEps));
      const q0 = await padded(await o.linear(rec, n1, this.w(`${L}self_attn.q_proj.weight`), null));
      const k0 = await padded(await o.linear(rec, n1, this.w(`${L}self_attn.k_proj.weight`), null));
      const v = await padded(await o.linear(rec, n1, this.w(`${L}self_attn.v_proj.weight`), null));
      const q = k(await rope(rec, q0, { pos0: 0, theta: t.rope.theta }));
      const kk = k(await rope(rec, k0, { pos0: 0, theta: t.rope.theta }));
      const att = await attentionTrain(rec, q, kk, v, { causal: true });
      k(att.out);
      k(att.lse);
      const attOut = await o.placeRows(rec, att.out, A.fromPad, inputs.n);
      const ao = await o.linear(rec, attOut, this.w(`${L}self_attn.o_proj.weight`), null);
      const h1 = k(await binary(rec, 'add', h, ao));
      const n2 = k(await rmsnorm(rec, h1, this.w(`${L}post_attention_layernorm.weight`), t.rmsNormEps));
      const g = await o.linear(rec, n2, this.w(`${L}mlp.gate_proj.weight`), null);
      const u = await o.linear(rec, n2, this.w(`${L}mlp.up_proj.weight`), null);
      const s = k(await binary(rec, 'silu_mul', g, u));
      const d = await o.linear(rec, s, this.w(`${L}mlp.down_proj.weight`), null);
      tape.text!.push({ hIn: h, n1, q, k: kk, v, att, attOut, h1, n2, g, u, s });
      h = k(await binary(rec, 'add', h1, d));
    }
    tape.hLast = h;
    tape.nf = k(await rmsnorm(rec, h, this.w(`${T}norm.weight`), t.rmsNormEps));
    tape.sel = k(await embedding(rec, tape.nf, inputs.targetRows));
    tape.logits = await o.linear(rec, tape.sel, this.w('lm_head.weight'), null);
    return tape as ForwardTape;
  }

  /** Mean cross-entropy over the tape's target rows; records the whole backward (grads accumulate). */
  async backward(rec: Recorder, tape: ForwardTape): Promise<TargetResults> {
    const o = this.ops;
    const k = <X extends Tensor>(x: X): X => o.keep(x);
    const add = async (a: Tensor, b: Tensor): Promise<Tensor> => k(await binary(rec, 'add', a, b));
    const c = this.config;
    const t = c.text;
    const inp = tape.inputs;
    const A = inp.attn;
    const slots = A.B * A.T;
    const rmsBwd = async (x: Tensor, dy: Tensor, name: string): Promise<Tensor> =>
      k((await rmsnormBackward(rec, x, dy, this.w(name), t.rmsNormEps, { accumulate: { dweight: this.gr(name) } })).dx);
    const ce = await crossEntropyTrain(rec, tape.logits, inp.targetIds, { normalizer: inp.targetIds.length });
    k(ce.loss);
    k(ce.dlogits);
    const pred = k(await argmax(rec, tape.logits));
    const dsel = await o.linearBwd(rec, tape.sel, this.w('lm_head.weight'), ce.dlogits, this.gr('lm_head.weight'), null);
    const dnf = await o.placeRows(rec, dsel, inp.targetRows, inp.n);
    let dh = await rmsBwd(tape.hLast, dnf, `${T}norm.weight`);
    for (let l = t.numLayers - 1; l >= 0; l--) {
      const L = `${T}layers.${l}.`;
      const s = tape.text[l]!;
      const ds = await o.linearBwd(rec, s.s, this.w(`${L}mlp.down_proj.weight`), dh, this.gr(`${L}mlp.down_proj.weight`), null);
      const { dgate, dup } = await siluMulBackward(rec, s.g, s.u, ds);
      k(dgate);
      k(dup);
      const dn2g = await o.linearBwd(rec, s.n2, this.w(`${L}mlp.gate_proj.weight`), dgate, this.gr(`${L}mlp.gate_proj.weight`), null);
      const dn2u = await o.linearBwd(rec, s.n2, this.w(`${L}mlp.up_proj.weight`), dup, this.gr(`${L}mlp.up_proj.weight`), null);
      const dh1 = await add(await rmsBwd(s.h1, await add(dn2g, dn2u), `${L}post_attention_layernorm.weight`), dh);
      const datt = await o.linearBwd(rec, s.attOut, this.w(`${L}self_attn.o_proj.weight`), dh1, this.gr(`${L}self_attn.o_proj.weight`), null);
      const dOut = (await o.placeRows(rec, datt, A.toPad, slots)).reshape(s.att.out.shape);
      const { dq, dk, dv } = await attentionBackward(rec, s.q, s.k, s.v, s.att.out, dOut, s.att.lse, { causal: true });
      k(dq);
      k(dk);
      k(dv);
      const dq0 = await o.placeRows(rec, k(await ropeBackward(rec, dq, { pos0: 0, theta: t.rope.theta })), A.fromPad, inp.n);
      const dk0 = await o.placeRows(rec, k(await ropeBackward(rec, dk, { pos0: 0, theta: t.rope.theta })), A.fromPad, inp.n);
      const dv0 = await o.placeRows(rec, dv, A.fromPad, inp.n);
      const dq1 = await o.linearBwd(rec, s.n1, this.w(`${L}self_attn.q_proj.weight`), dq0, this.gr(`${L}self_attn.q_proj.weight`), null);
      const dk1 = await o.linearBwd(rec, s.n1, this.w(`${L}self_attn.k_proj.weight`), dk0, this.gr(`${L}self_attn.k_proj.weight`), null);
      const dv1 = await o.linearBwd(rec, s.n1, this.w(`${L}self_attn.v_proj.weight`), dv0, this.gr(`${L}self_attn.v_proj.weight`), null);
      const dn1 = await add(await add(dq1, dk1), dv1);
      dh = await add(await rmsBwd(s.hIn, dn1, `${L}input_layernorm.weight`), dh1);
    }
    // image rows and padding have id -1: no embedding gradient (the image features got it)
    await embeddingBackward(rec, dh, inp.gradIds, t.vocabSize, { accumulate: this.gr(`${T}embed_tokens.weight`) });

    const vt = tape.vision;
    if (vt) {
      const vc = c.vision;
      const nTok = this.positions;
      const rows = tape.images * nTok;
      const hv = vc.hiddenSize;
      const lnBwd = async (x: Tensor, dy: Tensor, L: string): Promise<Tensor> =>
        k((await layernormBackward(rec, x, dy, this.w(`${L}weight`), vc.layerNormEps, { accumulate: { dweight: this.gr(`${L}weight`), dbias: this.gr(`${L}bias`) } })).dx);
      const lin = (x: Tensor, name: string, dy: Tensor): Promise<Tensor> => o.linearBwd(rec, x, this.w(`${name}.weight`), dy, this.gr(`${name}.weight`), this.gr(`${name}.bias`));
      const dimg = k(await embedding(rec, dh, inp.imageRows));
      const dpa = await lin(vt.pa, `${P}linear_2`, dimg);
      const dp1 = k(await activationBackward(rec, 'gelu', vt.p1, dpa));
      const dfeats = await lin(vt.feats, `${P}linear_1`, dp1);
      let dhv = await o.placeRows(rec, dfeats, inp.visSel, rows);
      for (let l = vc.numLayers - 1; l >= 0; l--) {
        const L = `${V}encoder.layers.${l}.`;
        const s = vt.layers[l]!;
        const da = await lin(s.a, `${L}mlp.fc2`, dhv);
        const df1 = k(await activationBackward(rec, 'quick_gelu', s.f1, da));
        const dln2 = await lin(s.ln2, `${L}mlp.fc1`, df1);
        const dh1 = await add(await lnBwd(s.h1, dln2, `${L}layer_norm2.`), dhv);
        const datt = await lin(s.att.out.reshape([rows, hv]), `${L}self_attn.out_proj`, dh1);
        const { dq, dk, dv } = await attentionBackward(rec, s.q, s.k, s.v, s.att.out, datt.reshape(s.att.out.shape), s.att.lse, { causal: false });
        k(dq);
        k(dk);
        k(dv);
        const flat = (x: Tensor): Tensor => x.reshape([rows, hv]);
        const dq1 = await lin(s.ln1, `${L}self_attn.q_proj`, flat(dq));
        const dk1 = await lin(s.ln1, `${L}self_attn.k_proj`, flat(dk));
        const dv1 = await lin(s.ln1, `${L}self_attn.v_proj`, flat(dv));
        dhv = await add(await lnBwd(s.hIn, await add(await add(dq1, dk1), dv1), `${L}layer_norm1.`), dh1);
      }
      const dx0 = await lnBwd(vt.x0, dhv, `${V}pre_layrnorm.`);
      // x0 = [CLS, patch rows] + position embeddings: dpos sums over images, dcls over CLS rows
      const dpos = this.gr(`${V}embeddings.position_embedding.weight`);
      await colSum(rec, dx0.reshape([tape.images, nTok * hv]), { accumulate: dpos.reshape([dpos.size]) });
      await colSum(rec, k(await embedding(rec, dx0, inp.clsRows)), { accumulate: this.gr(`${V}embeddings.class_embedding`) });
      const dpe = k(await embedding(rec, dx0, inp.visSel));
      await gemm(rec, dpe, inp.patches!, { transA: true, accumulate: this.gr(`${V}embeddings.patch_embedding.weight`) });
    }
    return { loss: ce.loss, pred };
  }
}
