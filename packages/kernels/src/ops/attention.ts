// Attention over a shared prefix cache plus per-row suffix caches, with head-tap and head-patch
// variants (wgsl/attention.wgsl; layout and semantics in the header of that file).
import { checkDtype, checkRank, checkShape, checkThat } from '../check.js';
import { KernelError, fmtShape } from '../errors.js';
import type { Recorder } from '../recorder.js';
import { grid1d } from '../recorder.js';
import type { Tensor } from '../tensor.js';
import { params, wgsl } from '../wgsl.js';
import { effectiveVariant, flashAttention } from './attention/flash.js';
import { chooseAttentionVariant, type AttentionVariant } from './attention/tuning.js';

export { defaultAttentionVariant, type AttentionVariant } from './attention/tuning.js';

const K = 'attention';
/** Largest head_dim supported (the kernel unrolls over D/4; larger would make huge shaders). */
export const ATTENTION_MAX_HEAD_DIM = 256;
/** Positions given as numbers travel in the uniform block; at most this many. */
export const ATTENTION_MAX_UNIFORM_POSITIONS = 32;
/** Invocations per workgroup; 8, 16 and 64 measured the same on llvmpipe. */
const WG = 64;
/**
 * Query items (token, head-in-GQA-group pairs) per invocation: each K/V load serves QB queries.
 * Bounded by a register budget of QB * D/4 <= 128 vec4 per q and per accumulator (QB = 8 at
 * D = 64 measured 1.7x faster than QB = 4; larger unrolls make shader compiles very slow).
 */
const MAX_QB = 8;
const QB_BUDGET = 128;

/**
 * Expands the template's `//#each q` (QB times) and `//#each i` (D4 times) blocks, replacing
 * $q / $i by the index and $QB / $D4 by the sizes (see the header of wgsl/attention.wgsl).
 */
export function expandAttentionWgsl(template: string, d4: number, qb: number): string {
  const lines = template.split('\n');
  let at = 0;
  const block = (vars: Record<string, number>): string[] => {
    const out: string[] = [];
    while (at < lines.length) {
      const line = lines[at++]!;
      const each = /^\s*\/\/#each ([qi])\s*$/.exec(line);
      if (each) {
        const start = at;
        const n = each[1] === 'q' ? qb : d4;
        let end = at;
        for (let k = 0; k < n; k++) {
          at = start;
          out.push(...block({ ...vars, [each[1]!]: k }));
          end = at;
        }
        if (n === 0) skip();
        else at = end;
        continue;
      }
      if (/^\s*\/\/#end\s*$/.test(line)) return out;
      let text = line.replaceAll('$QB', String(qb)).replaceAll('$D4', String(d4));
      for (const [v, k] of Object.entries(vars)) text = text.replaceAll(`$${v}`, String(k));
      const codePart = text.replace(/\/\/.*$/, ''); // comments may mention $q / $i
      if (/\$[qi]/.test(codePart)) throw new KernelError(K, `template line ${at} uses ${/\$[qi]/.exec(codePart)![0]} outside its //#each block`);
      out.push(text);
    }
    return out;
  };
  const skip = (): void => {
    let depth = 1;
    while (at < lines.length && depth > 0) {
      const line = lines[at++]!;
      if (/^\s*\/\/#each/.test(line)) depth++;
      else if (/^\s*\/\/#end\s*$/.test(line)) depth--;
    }
  };
  const code = block({});
  if (at < lines.length) throw new KernelError(K, `template has an unmatched //#end at line ${at}`);
  return code.join('\n');
}

const expanded = new Map<string, string>();
function attentionCode(d4: number, qb: number): string {
  const key = `${d4}/${qb}`;
  let code = expanded.get(key);
  if (code === undefined) expanded.set(key, (code = expandAttentionWgsl(wgsl('attention.wgsl'), d4, qb)));
  return code;
}

/**
 * Query positions (indices into 0..Tn-1) for tap or patch: host numbers (checked against Tn, sent in
 * the uniform block, at most 32) or a u32 tensor [nPos] (values cannot be checked on the host
 * without a readback: an entry >= Tn simply matches no query).
 */
export type AttentionPositions = readonly number[] | Tensor;

export interface AttentionTap {
  /** [B, nPos, L, Hq, D] f32; only the slots [b, k, layer, h, :] are written. */
  buffer: Tensor;
  /** Default: [Tn - 1], the last token of this pass. */
  positions?: AttentionPositions;
  layer: number;
  /** L; optional, checked against buffer.shape[2] when given. */
  layers?: number;
}

export interface AttentionPatch {
  /** [L, Hq, D] f32: the replacement head outputs (e.g. the MTV means). */
  values: Tensor;
  /** [B, L, Hq] u32: nonzero = replace head h of layer `layer` in row b. */
  mask: Tensor;
  /** Default: [Tn - 1]. */
  positions?: AttentionPositions;
  layer: number;
  /** L; optional, checked against values.shape[0] when given. */
  layers?: number;
}

export interface AttentionArgs {
  /** [B, Tn, Hq, D] f32. */
  q: Tensor;
  /** [P, Hkv, D] f32 shared prefix keys / values; omit both when P = 0. */
  kPre?: Tensor;
  vPre?: Tensor;
  /** [B, Smax, Hkv, D] f32 per-row suffix caches; the first S entries are valid. */
  kSuf: Tensor;
  vSuf: Tensor;
  /** Valid suffix length (includes the Tn new tokens, which are its last Tn); default Smax. */
  S?: number;
  causal: boolean;
  /** Default 1 / sqrt(D). */
  scale?: number;
  tap?: AttentionTap;
  patch?: AttentionPatch;
  /** [B, Tn, Hq, D] f32; allocated when omitted. */
  out?: Tensor;
  /** Kernel variant; default env MTV_ATTENTION_VARIANT, else by adapter (see attention/tuning.ts). */
  variant?: AttentionVariant;
  /** Flash only: key splits (split-K; default: several for decode, 1 for prefill). */
  splitK?: number;
}

interface PosBinding {
  count: number;
  uniform: number[];
  tensor: Tensor | null;
}

function positionsOf(what: string, pos: AttentionPositions | undefined, tn: number): PosBinding {
  if (pos === undefined) return { count: 1, uniform: [tn - 1], tensor: null };
  if (Array.isArray(pos)) {
    const list = pos as readonly number[];
    checkThat(K, list.length >= 1, `${what} positions are empty`);
    checkThat(K, list.length <= ATTENTION_MAX_UNIFORM_POSITIONS, `${what} has ${list.length} positions; at most ${ATTENTION_MAX_UNIFORM_POSITIONS} as numbers (pass a u32 tensor for more)`);
    for (const p of list) {
      checkThat(K, Number.isInteger(p) && p >= 0 && p < tn, `${what} position ${p} is not a query index in 0..${tn - 1} (q has Tn = ${tn})`);
    }
    return { count: list.length, uniform: [...list], tensor: null };
  }
  const t = pos as Tensor;
  checkDtype(K, t, 'u32');
  checkRank(K, t, 1);
  checkThat(K, t.size >= 1, `${what} positions tensor ${fmtShape(t.shape)} is empty`);
  return { count: t.size, uniform: [], tensor: t };
}

/**
 * out[b, t, h, :] = softmax(q k^T * scale) v over the P prefix keys and this row's suffix keys
 * (causal or bidirectional), GQA-aware. With `tap`, also copies the outputs at the tap positions into
 * tap.buffer; with `patch`, writes patch.values where the mask says so. Records, never submits.
 */
export async function attention(rec: Recorder, a: AttentionArgs): Promise<Tensor> {
  const { q, kSuf, vSuf } = a;
  for (const [name, t] of [['q', q], ['kSuf', kSuf], ['vSuf', vSuf]] as const) {
    checkDtype(K, t, 'f32');
    checkThat(K, t.rank === 4, `${name} ${fmtShape(t.shape)} must have rank 4 ([B, Tn, Hq, D] / [B, Smax, Hkv, D])`);
  }
  const [B, Tn, Hq, D] = q.shape as [number, number, number, number];
  const [, Smax, Hkv] = kSuf.shape as [number, number, number, number];
  checkThat(K, B >= 1 && Tn >= 1 && Hq >= 1 && Smax >= 1 && Hkv >= 1, `empty dimension in q ${fmtShape(q.shape)} or kSuf ${fmtShape(kSuf.shape)}`);
  checkThat(K, D % 4 === 0 && D >= 4 && D <= ATTENTION_MAX_HEAD_DIM, `head_dim ${D} of q ${fmtShape(q.shape)} must be a multiple of 4 in 4..${ATTENTION_MAX_HEAD_DIM}`);
  checkShape(K, 'kSuf', kSuf, [B, Smax, Hkv, D]);
  checkShape(K, 'vSuf', vSuf, [B, Smax, Hkv, D]);
  checkThat(K, Hkv >= 1 && Hq % Hkv === 0, `query heads ${Hq} (q ${fmtShape(q.shape)}) are not a multiple of kv heads ${Hkv} (kSuf ${fmtShape(kSuf.shape)})`);
  const S = a.S ?? Smax;
  // Causal: the Tn queries are the last Tn of the S keys. Bidirectional: any S keys (Idefics attends
  // over the valid patches only, the perceiver's latents over context + latents).
  const minS = a.causal ? Tn : 1;
  checkThat(K, Number.isInteger(S) && S >= minS && S <= Smax, `S = ${S} must be an integer with ${a.causal ? `Tn ${Tn}` : '1'} <= S <= Smax ${Smax} (q ${fmtShape(q.shape)}, kSuf ${fmtShape(kSuf.shape)})`);

  let P = 0;
  checkThat(K, (a.kPre === undefined) === (a.vPre === undefined), 'give both kPre and vPre, or neither');
  if (a.kPre && a.vPre) {
    checkDtype(K, a.kPre, 'f32');
    checkDtype(K, a.vPre, 'f32');
    checkThat(K, a.kPre.rank === 3, `kPre ${fmtShape(a.kPre.shape)} must be [P, Hkv, D] = [P, ${Hkv}, ${D}]`);
    P = a.kPre.shape[0]!;
    checkShape(K, 'kPre', a.kPre, [P, Hkv, D]);
    checkShape(K, 'vPre', a.vPre, [P, Hkv, D]);
  }
  const scale = a.scale ?? 1 / Math.sqrt(D);
  checkThat(K, Number.isFinite(scale), `scale ${scale} is not finite`);

  const out = a.out ?? rec.gpu.empty([B, Tn, Hq, D], 'f32', K);
  checkDtype(K, out, 'f32');
  checkShape(K, 'out', out, [B, Tn, Hq, D]);

  checkThat(K, !(a.tap && a.patch), 'tap and patch in one pass are not supported; run them as separate passes');
  let entry = 'main_plain';
  let pos: PosBinding = { count: 0, uniform: [], tensor: null };
  let layer = 0;
  let layers = 0;
  let extra: Tensor[] = [];
  let outputs = 1;
  if (a.tap) {
    const t = a.tap;
    entry = 'main_tap';
    pos = positionsOf('tap', t.positions, Tn);
    checkDtype(K, t.buffer, 'f32');
    checkThat(K, t.buffer.rank === 5, `tap buffer ${fmtShape(t.buffer.shape)} must be [B, nPos, L, Hq, D]`);
    layers = t.buffer.shape[2]!;
    checkThat(K, t.layers === undefined || t.layers === layers, `tap layers = ${t.layers} but the tap buffer ${fmtShape(t.buffer.shape)} holds ${layers}`);
    checkShape(K, 'tap buffer', t.buffer, [B, pos.count, layers, Hq, D]);
    layer = t.layer;
    extra = [pos.tensor ?? q, out, t.buffer];
    outputs = 2;
  } else if (a.patch) {
    const p = a.patch;
    entry = 'main_patch';
    pos = positionsOf('patch', p.positions, Tn);
    checkDtype(K, p.values, 'f32');
    checkDtype(K, p.mask, 'u32');
    checkThat(K, p.values.rank === 3, `patch values ${fmtShape(p.values.shape)} must be [L, Hq, D]`);
    layers = p.values.shape[0]!;
    checkThat(K, p.layers === undefined || p.layers === layers, `patch layers = ${p.layers} but the values ${fmtShape(p.values.shape)} hold ${layers}`);
    checkShape(K, 'patch values', p.values, [layers, Hq, D]);
    checkShape(K, 'patch mask', p.mask, [B, layers, Hq]);
    layer = p.layer;
    extra = [pos.tensor ?? q, p.mask, p.values, out];
  } else {
    extra = [out];
  }
  if (a.tap || a.patch) {
    checkThat(K, Number.isInteger(layer) && layer >= 0 && layer < layers, `layer ${layer} is not in 0..${layers - 1}`);
  }

  const posWords = new Array<number>(ATTENTION_MAX_UNIFORM_POSITIONS).fill(0);
  pos.uniform.forEach((v, i) => (posWords[i] = v));
  const kPre = P > 0 ? a.kPre! : q; // any bound buffer serves when there is no prefix
  const vPre = P > 0 ? a.vPre! : q;
  const run = effectiveVariant(rec.gpu.report, chooseAttentionVariant(rec.gpu.report, a.variant), D);
  if (run.tile) {
    const e = entry.slice(5) as 'plain' | 'tap' | 'patch';
    const flash = { entry: e, inputs: [q, kPre, vPre, kSuf, vSuf] as const, extra, outputs, B, Tn, Hq, Hkv, D, P, S, Smax, causal: a.causal, scale };
    await flashAttention(rec, { ...flash, posCount: pos.count, posWords, posTensor: pos.tensor !== null, layer, layers, ...(a.splitK !== undefined ? { splits: a.splitK } : {}) }, run.tile);
    return out;
  }

  const items = Tn * (Hq / Hkv); // (token, head-in-group) pairs per (row, kv head)
  // Query items per invocation, bucketed to a power of two: every distinct qb is its own pipeline
  // (a JIT of seconds to a minute on llvmpipe), and items follows the token count, so unbucketed
  // every short prompt length or GQA group size compiled a new variant (issue 18).
  const qbCap = Math.max(1, Math.min(MAX_QB, Math.floor(QB_BUDGET / (D / 4))));
  const qb = Math.min(qbCap, 2 ** Math.ceil(Math.log2(Math.max(1, items))));
  const n = B * Hkv * Math.ceil(items / qb);
  const block = params([B, Tn, Hq, Hkv, P, S, Smax, a.causal ? 1 : 0, { f32: scale }, pos.count, layer, layers, ...posWords]);
  const pipe = await rec.gpu.pipeline(`${K}:${entry.slice(5)}`, attentionCode(D / 4, qb), { WG, POS_BUF: pos.tensor ? 1 : 0 }, entry);
  rec.dispatch(pipe, block, [q, kPre, vPre, kSuf, vSuf, ...extra], grid1d(n, WG), outputs);
  return out;
}
