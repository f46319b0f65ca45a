// The LLaVA training forward and backward on the packed token stream, recorded into one Recorder:
// CLIP tower (pre-LN encoder, quick_gelu MLP) -> "default" select (drop CLS) -> linear-GELU-linear
// projector -> image rows of the embeddings -> Llama decoder (RMSNorm, RoPE, SwiGLU) -> lm_head on
// the answer rows only -> weighted cross-entropy.
import type { Recorder, Tensor } from '@mtv/kernels';
import { PROJECTOR_PREFIX, TEXT_PREFIX, VISION_PREFIX, type LlavaConfig } from '@mtv/model';
import type { PackedBatch } from './data.js';
import type { TrainOps } from './ops.js';
import type { ParamStore } from './params.js';

interface Inputs {
  ids: Tensor;
  gradIds: Tensor;
  pos: Tensor;
  seg: Tensor;
  imageRows: Tensor | null;
  patches: Tensor | null;
  visSeg: Tensor | null;
  /** Rows of the tower output kept by "default" (all but each image's CLS row). */
  visSel: Tensor | null;
  targetRows: Tensor;
  targetIds: Tensor;
  targetWeights: Tensor;
}

interface VisionLayerTape {
  hIn: Tensor;
  ln1: { y: Tensor; stats: Tensor };
  q: Tensor;
  k: Tensor;
  v: Tensor;
  att: { out: Tensor; lse: Tensor };
  h1: Tensor;
  ln2: { y: Tensor; stats: Tensor };
  f1: Tensor;
  a: Tensor;
}

interface TextLayerTape {
  hIn: Tensor;
  n1: { y: Tensor; rstd: Tensor };
  q: Tensor;
  k: Tensor;
  v: Tensor;
  att: { out: Tensor; lse: Tensor };
  h1: Tensor;
  n2: { y: Tensor; rstd: Tensor };
  g: Tensor;
  u: Tensor;
  s: Tensor;
}

export interface ForwardTape {
  inputs: Inputs;
  images: number;
  vision?: { x0: Tensor; pre: { y: Tensor; stats: Tensor }; layers: VisionLayerTape[]; feats: Tensor; p1: Tensor; pa: Tensor };
  text: TextLayerTape[];
  hLast: Tensor;
  nf: { y: Tensor; rstd: Tensor };
  sel: Tensor;
  /** [R, vocab] logits of the target rows. */
  logits: Tensor;
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

  /** Uploads a packed batch's index arrays and patches (step temporaries). */
  upload(b: PackedBatch): Inputs {
    const o = this.ops;
    const patchDim = 3 * this.config.vision.patchSize ** 2;
    const nTok = this.positions;
    let visSeg: Tensor | null = null;
    let visSel: Tensor | null = null;
    if (b.images > 0) {
      const seg = new Int32Array(b.images * nTok * 2);
      const sel = new Int32Array(b.images * (nTok - 1));
      for (let i = 0; i < b.images; i++) {
        for (let t = 0; t < nTok; t++) {
          seg[2 * (i * nTok + t)] = i * nTok;
          seg[2 * (i * nTok + t) + 1] = (i + 1) * nTok;
          if (t > 0) sel[i * (nTok - 1) + t - 1] = i * nTok + t;
        }
      }
      visSeg = o.tmpUpload(seg, [b.images * nTok, 2]);
      visSel = o.tmpUpload(sel, [sel.length]);
    }
    return {
      ids: o.tmpUpload(b.ids, [b.n]),
      gradIds: o.tmpUpload(b.gradIds, [b.n]),
      pos: o.tmpUpload(b.pos, [b.n]),
      seg: o.tmpUpload(b.seg, [b.n, 2]),
      imageRows: b.images > 0 ? o.tmpUpload(b.imageRows, [b.imageRows.length]) : null,
      patches: b.images > 0 ? o.tmpUpload(b.patches, [b.images * (nTok - 1), patchDim]) : null,
      visSeg,
      visSel,
      targetRows: o.tmpUpload(b.targetRows, [b.targetRows.length]),
      targetIds: o.tmpUpload(b.targetIds, [b.targetIds.length]),
      targetWeights: o.tmpUpload(b.targetWeights, [b.targetWeights.length]),
    };
  }

  async forward(rec: Recorder, b: PackedBatch): Promise<ForwardTape> {
    const o = this.ops;
    const c = this.config;
    const inputs = this.upload(b);
    const tape: Partial<ForwardTape> = { inputs, images: b.images, text: [] };

    // ---- vision tower + projector
    let imageFeatures: Tensor | null = null;
    if (b.images > 0) {
      const vc = c.vision;
      const pe = o.tmp([b.images * (this.positions - 1), vc.hiddenSize], 'vis.patch');
      await o.gemm(rec, inputs.patches!, false, this.w(`${V}embeddings.patch_embedding.weight`), true, pe);
      const x0 = await o.visionEmbed(rec, pe, this.w(`${V}embeddings.class_embedding`), this.w(`${V}embeddings.position_embedding.weight`), b.images, this.positions);
      const pre = await o.layernorm(rec, x0, this.w(`${V}pre_layrnorm.weight`), this.w(`${V}pre_layrnorm.bias`), vc.layerNormEps);
      let h = pre.y;
      const layers: VisionLayerTape[] = [];
      for (let l = 0; l < vc.numLayers; l++) {
        const L = `${V}encoder.layers.${l}.`;
        const ln1 = await o.layernorm(rec, h, this.w(`${L}layer_norm1.weight`), this.w(`${L}layer_norm1.bias`), vc.layerNormEps);
        const q = await o.linear(rec, ln1.y, this.w(`${L}self_attn.q_proj.weight`), this.w(`${L}self_attn.q_proj.bias`));
        const k = await o.linear(rec, ln1.y, this.w(`${L}self_attn.k_proj.weight`), this.w(`${L}self_attn.k_proj.bias`));
        const v = await o.linear(rec, ln1.y, this.w(`${L}self_attn.v_proj.weight`), this.w(`${L}self_attn.v_proj.bias`));
        const att = await o.attention(rec, q, k, v, inputs.visSeg!, vc.numHeads, false);
        const ao = await o.linear(rec, att.out, this.w(`${L}self_attn.out_proj.weight`), this.w(`${L}self_attn.out_proj.bias`));
        const h1 = await o.add(rec, h, ao);
        const ln2 = await o.layernorm(rec, h1, this.w(`${L}layer_norm2.weight`), this.w(`${L}layer_norm2.bias`), vc.layerNormEps);
        const f1 = await o.linear(rec, ln2.y, this.w(`${L}mlp.fc1.weight`), this.w(`${L}mlp.fc1.bias`));
        const a = await o.act(rec, 'quick_gelu', f1);
        const f2 = await o.linear(rec, a, this.w(`${L}mlp.fc2.weight`), this.w(`${L}mlp.fc2.bias`));
        layers.push({ hIn: h, ln1, q, k, v, att, h1, ln2, f1, a });
        h = await o.add(rec, h1, f2);
      }
      const feats = await o.gatherRows(rec, h, inputs.visSel!);
      const p1 = await o.linear(rec, feats, this.w(`${P}linear_1.weight`), this.w(`${P}linear_1.bias`));
      const pa = await o.act(rec, 'gelu', p1);
      imageFeatures = await o.linear(rec, pa, this.w(`${P}linear_2.weight`), this.w(`${P}linear_2.bias`));
      tape.vision = { x0, pre, layers, feats, p1, pa };
    }

    // ---- decoder
    const t = c.text;
    let h = await o.gatherRows(rec, this.w(`${T}embed_tokens.weight`), inputs.ids);
    if (imageFeatures) await o.scatterRows(rec, h, imageFeatures, inputs.imageRows!);
    for (let l = 0; l < t.numLayers; l++) {
      const L = `${T}layers.${l}.`;
      const n1 = await o.rmsnorm(rec, h, this.w(`${L}input_layernorm.weight`), t.rmsNormEps);
      const q0 = await o.linear(rec, n1.y, this.w(`${L}self_attn.q_proj.weight`), null);
      const k0 = await o.linear(rec, n1.y, this.w(`${L}self_attn.k_proj.weight`), null);
      const v = await o.linear(rec, n1.y, this.w(`${L}self_attn.v_proj.weight`), null);
      const q = await o.rope(rec, q0, inputs.pos, t.numHeads, t.headDim, t.rope.theta);
      const k = await o.rope(rec, k0, inputs.pos, t.numHeads, t.headDim, t.rope.theta);
      const att = await o.attention(rec, q, k, v, inputs.seg, t.numHeads, true);
      const ao = await o.linear(rec, att.out, this.w(`${L}self_attn.o_proj.weight`), null);
      const h1 = await o.add(rec, h, ao);
      const n2 = await o.rmsnorm(rec, h1, this.w(`${L}post_attention_layernorm.weight`), t.rmsNormEps);
      const g = await o.linear(rec, n2.y, this.w(`${L}mlp.gate_proj.weight`), null);
      const u = await o.linear(rec, n2.y, this.w(`${L}mlp.up_proj.weight`), null);
      const s = await o.swiglu(rec, g, u);
      const d = await o.linear(rec, s, this.w(`${L}mlp.down_proj.weight`), null);
      tape.text!.push({ hIn: h, n1, q, k, v, att, h1, n2, g, u, s });
      h = await o.add(rec, h1, d);
    }
    tape.hLast = h;
    tape.nf = await o.rmsnorm(rec, h, this.w(`${T}norm.weight`), t.rmsNormEps);
    tape.sel = await o.gatherRows(rec, tape.nf.y, inputs.targetRows);
    tape.logits = await o.linear(rec, tape.sel, this.w('lm_head.weight'), null);
    return tape as ForwardTape;
  }

  /** Cross-entropy of the tape's target rows; records the whole backward (grads accumulate). Returns [R, 2] (loss, correct). */
  async backward(rec: Recorder, tape: ForwardTape): Promise<Tensor> {
    const o = this.ops;
    const c = this.config;
    const t = c.text;
    const inp = tape.inputs;
    const { dlogits, loss } = await o.crossEntropy(rec, tape.logits, inp.targetIds, inp.targetWeights);
    const dsel = (await o.linearBwd(rec, tape.sel, this.w('lm_head.weight'), dlogits, this.gr('lm_head.weight'), null))!;
    const dnf = o.tmp(tape.nf.y.shape, 'dnf');
    await o.fill(rec, dnf, 0);
    await o.scatterRows(rec, dnf, dsel, inp.targetRows);
    let dh = await o.rmsnormBwd(rec, tape.hLast, this.w(`${T}norm.weight`), tape.nf.rstd, dnf, this.gr(`${T}norm.weight`));
    for (let l = t.numLayers - 1; l >= 0; l--) {
      const L = `${T}layers.${l}.`;
      const s = tape.text[l]!;
      const ds = (await o.linearBwd(rec, s.s, this.w(`${L}mlp.down_proj.weight`), dh, this.gr(`${L}mlp.down_proj.weight`), null))!;
      const [dg, du] = await o.swigluBwd(rec, s.g, s.u, ds);
      const dn2 = (await o.linearBwd(rec, s.n2.y, this.w(`${L}mlp.gate_proj.weight`), dg, this.gr(`${L}mlp.gate_proj.weight`), null))!;
      await o.addInto(rec, dn2, (await o.linearBwd(rec, s.n2.y, this.w(`${L}mlp.up_proj.weight`), du, this.gr(`${L}mlp.up_proj.weight`), null))!);
      const dh1 = await o.rmsnormBwd(rec, s.h1, this.w(`${L}post_attention_layernorm.weight`), s.n2.rstd, dn2, this.gr(`${L}post_attention_layernorm.weight`));
      await o.addInto(rec, dh1, dh);
      const datt = (await o.linearBwd(rec, s.att.out, this.w(`${L}self_attn.o_proj.weight`), dh1, this.gr(`${L}self_attn.o_proj.weight`), null))!;
      const { dq, dk, dv } = await o.attentionBwd(rec, s.q, s.k, s.v, s.att.out, s.att.lse, datt, inp.seg, t.numHeads, true);
      const dq0 = await o.rope(rec, dq, inp.pos, t.numHeads, t.headDim, t.rope.theta, true);
      const dk0 = await o.rope(rec, dk, inp.pos, t.numHeads, t.headDim, t.rope.theta, true);
      const dn1 = (await o.linearBwd(rec, s.n1.y, this.w(`${L}self_attn.q_proj.weight`), dq0, this.gr(`${L}self_attn.q_proj.weight`), null))!;
      await o.addInto(rec, dn1, (await o.linearBwd(rec, s.n1.y, this.w(`${L}self_attn.k_proj.weight`), dk0, this.gr(`${L}self_attn.k_proj.weight`), null))!);
      await o.addInto(rec, dn1, (await o.linearBwd(rec, s.n1.y, this.w(`${L}self_attn.v_proj.weight`), dv, this.gr(`${L}self_attn.v_proj.weight`), null))!);
      const dh0 = await o.rmsnormBwd(rec, s.hIn, this.w(`${L}input_layernorm.weight`), s.n1.rstd, dn1, this.gr(`${L}input_layernorm.weight`));
      await o.addInto(rec, dh0, dh1);
      dh = dh0;
    }
    await o.embeddingBwd(rec, dh, inp.gradIds, this.gr(`${T}embed_tokens.weight`));

    const vt = tape.vision;
    if (vt) {
      const vc = c.vision;
      const dimg = await o.gatherRows(rec, dh, inp.imageRows!);
      const dpa = (await o.linearBwd(rec, vt.pa, this.w(`${P}linear_2.weight`), dimg, this.gr(`${P}linear_2.weight`), this.gr(`${P}linear_2.bias`)))!;
      const dp1 = await o.actBwd(rec, 'gelu', vt.p1, dpa);
      const dfeats = (await o.linearBwd(rec, vt.feats, this.w(`${P}linear_1.weight`), dp1, this.gr(`${P}linear_1.weight`), this.gr(`${P}linear_1.bias`)))!;
      let dhv = o.tmp(vt.x0.shape, 'dvis');
      await o.fill(rec, dhv, 0);
      await o.scatterRows(rec, dhv, dfeats, inp.visSel!);
      for (let l = vc.numLayers - 1; l >= 0; l--) {
        const L = `${V}encoder.layers.${l}.`;
        const s = vt.layers[l]!;
        const da = (await o.linearBwd(rec, s.a, this.w(`${L}mlp.fc2.weight`), dhv, this.gr(`${L}mlp.fc2.weight`), this.gr(`${L}mlp.fc2.bias`)))!;
        const df1 = await o.actBwd(rec, 'quick_gelu', s.f1, da);
        const dln2 = (await o.linearBwd(rec, s.ln2.y, this.w(`${L}mlp.fc1.weight`), df1, this.gr(`${L}mlp.fc1.weight`), this.gr(`${L}mlp.fc1.bias`)))!;
        const dh1 = await o.layernormBwd(rec, s.h1, this.w(`${L}layer_norm2.weight`), s.ln2.stats, dln2, this.gr(`${L}layer_norm2.weight`), this.gr(`${L}layer_norm2.bias`));
        await o.addInto(rec, dh1, dhv);
        const datt = (await o.linearBwd(rec, s.att.out, this.w(`${L}self_attn.out_proj.weight`), dh1, this.gr(`${L}self_attn.out_proj.weight`), this.gr(`${L}self_attn.out_proj.bias`)))!;
        const { dq, dk, dv } = await o.attentionBwd(rec, s.q, s.k, s.v, s.att.out, s.att.lse, datt, inp.visSeg!, vc.numHeads, false);
        const dln1 = (await o.linearBwd(rec, s.ln1.y, this.w(`${L}self_attn.q_proj.weight`), dq, this.gr(`${L}self_attn.q_proj.weight`), this.gr(`${L}self_attn.q_proj.bias`)))!;
        await o.addInto(rec, dln1, (await o.linearBwd(rec, s.ln1.y, this.w(`${L}self_attn.k_proj.weight`), dk, this.gr(`${L}self_attn.k_proj.weight`), this.gr(`${L}self_attn.k_proj.bias`)))!);
        await o.addInto(rec, dln1, (await o.linearBwd(rec, s.ln1.y, this.w(`${L}self_attn.v_proj.weight`), dv, this.gr(`${L}self_attn.v_proj.weight`), this.gr(`${L}self_attn.v_proj.bias`)))!);
        const dh0 = await o.layernormBwd(rec, s.hIn, this.w(`${L}layer_norm1.weight`), s.ln1.stats, dln1, this.gr(`${L}layer_norm1.weight`), this.gr(`${L}layer_norm1.bias`));
        await o.addInto(rec, dh0, dh1);
        dhv = dh0;
      }
      const dx0 = await o.layernormBwd(rec, vt.x0, this.w(`${V}pre_layrnorm.weight`), vt.pre.stats, dhv, this.gr(`${V}pre_layrnorm.weight`), this.gr(`${V}pre_layrnorm.bias`));
      await o.visionEmbedBwd(rec, dx0, this.gr(`${V}embeddings.position_embedding.weight`), this.gr(`${V}embeddings.class_embedding`), tape.images, this.positions);
      const dpe = await o.gatherRows(rec, dx0, inp.visSel!);
      await o.gemm(rec, dpe, true, inp.patches!, false, this.gr(`${V}embeddings.patch_embedding.weight`), { acc: true });
    }
    return loss;
  }
}
