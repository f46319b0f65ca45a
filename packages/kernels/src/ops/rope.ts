// Rotary position embedding (wgsl/rope.wgsl), Hugging Face rotate_half convention, with the
// angle reduced on the GPU from a host-built float64 frequency table (wgsl/common/rope_angle.wgsl).
import { checkDtype, checkRank, checkShape, checkThat } from '../check.js';
import { fmtShape } from '../errors.js';
import type { Gpu } from '../gpu.js';
import { grid1d, type Recorder } from '../recorder.js';
import type { Tensor } from '../tensor.js';
import { params, wgsl } from '../wgsl.js';
import { unpooledUpload } from './indices.js';

const WG = 256;
/** Positions must stay below 2^24: the angle reduction splits them into two 12-bit halves. */
export const ROPE_MAX_POSITION = 2 ** 24;

export interface RopeOptions {
  /** Position of t = 0 (e.g. the KV-cache length at decode time). */
  pos0: number;
  /** Base of the frequencies: inv_freq[i] = theta^(-2i/D). */
  theta: number;
  /** Explicit inv_freq [D/2] instead of theta (scaled RoPE variants); float64 precision is kept. */
  invFreq?: ArrayLike<number>;
  /** Output [B, T, H, D] f32; must not alias x. */
  out?: Tensor;
}

/** theta^(-2i/D) for i < D/2, in float64 (what HF computes, in f32, as 1 / theta^(arange(0, D, 2) / D)). */
export function ropeInvFreq(d: number, theta: number): Float64Array {
  return Float64Array.from({ length: d / 2 }, (_, i) => theta ** (-(2 * i) / d));
}

/** v rounded to 12 significant bits (exact as f32; 12 x 12-bit products are exact in f32). */
function top12(v: number): number {
  if (v === 0) return 0;
  let e = Math.floor(Math.log2(Math.abs(v)));
  while (2 ** e > Math.abs(v)) e--; // log2 may be off by one at powers of two
  while (2 ** (e + 1) <= Math.abs(v)) e++;
  const s = 2 ** (e - 11);
  return Math.round(v / s) * s;
}

/** Per frequency (r1, r2, r3, 0) with r1 + r2 + r3 = inv_freq / 2pi (revolutions per position). */
export function ropeTable(invFreq: ArrayLike<number>): Float32Array {
  const out = new Float32Array(invFreq.length * 4);
  for (let i = 0; i < invFreq.length; i++) {
    const r = invFreq[i]! / (2 * Math.PI);
    const r1 = top12(r);
    const r2 = top12(r - r1);
    out[4 * i] = r1;
    out[4 * i + 1] = r2;
    out[4 * i + 2] = r - r1 - r2;
  }
  return out;
}

const tables = new WeakMap<Gpu, Map<string, Tensor>>();

/** The frequency table for (D, theta), built once per device and kept for its lifetime (shared with ropeBackward; do not destroy it). */
export function cachedRopeTable(gpu: Gpu, d: number, theta: number): Tensor {
  let m = tables.get(gpu);
  if (!m) tables.set(gpu, (m = new Map()));
  const key = `${d}:${theta}`;
  let t = m.get(key);
  if (!t) m.set(key, (t = unpooledUpload(gpu, ropeTable(ropeInvFreq(d, theta)), 'f32', `rope table D=${d} theta=${theta}`)));
  return t;
}

/** Guards shared by rope and ropeBackward: `t` ([B, T, H, D] f32) and positions [pos0, pos0 + T); returns [T, H, D]. */
export function checkRopeInput(K: string, what: string, t: Tensor, pos0: number): [number, number, number] {
  checkDtype(K, t, 'f32');
  checkRank(K, t, 4);
  const [, T, H, D] = t.shape as [number, number, number, number];
  checkThat(K, D >= 2 && D % 2 === 0, `head dim ${D} of ${what} ${fmtShape(t.shape)} must be even`);
  // the head loop counts against llvmpipe's 65535 loop iterations per invocation (rowwise.ts)
  checkThat(K, H >= 1 && H <= 4096, `${what} ${fmtShape(t.shape)} has ${H} heads; 1 to 4096 are supported`);
  checkThat(K, Number.isInteger(pos0) && pos0 >= 0 && pos0 + T <= ROPE_MAX_POSITION, `positions [${pos0}, ${pos0 + T}) must be integers in [0, 2^24)`);
  return [T, H, D];
}

/**
 * RoPE on x [B, T, H, D] with a position per (token, frequency): positions [T, D/2] u32 (the same
 * for every b), angle = positions[t, i] * inv_freq[i] (wgsl/rope_positions.wgsl). invFreq [D/2] is
 * explicit or theta^(-2i/D). Multimodal RoPE (Qwen2-VL) and 2-D vision rotary embeddings use it.
 */
export async function ropeAt(rec: Recorder, x: Tensor, positions: Tensor, opts: { theta: number; invFreq?: ArrayLike<number>; out?: Tensor }): Promise<Tensor> {
  const K = 'ropeAt';
  const [T, H, D] = checkRopeInput(K, 'x', x, 0);
  checkDtype(K, positions, 'u32');
  checkShape(K, 'positions', positions, [T, D / 2]);
  const table = ropeTableFor(rec, K, D, opts);
  const y = opts.out ?? rec.gpu.empty(x.shape, 'f32', K);
  checkDtype(K, y, 'f32');
  checkShape(K, 'output', y, x.shape);
  const n = (x.size / (H * D)) * (D / 2);
  const pipe = await rec.gpu.pipeline(K, wgsl('rope_positions.wgsl'), { WG });
  rec.dispatch(pipe, params([n, D / 2, H, T, 0, 0, 0, 0]), [x, table, positions, y], grid1d(n, WG));
  return y;
}

const explicitTables = new WeakMap<Gpu, Map<string, Tensor>>();

/**
 * The frequency table of explicit invFreq or of (D, theta), built once per device and frequency list
 * (a vision tower rotates q and k of every block with the same table; do not destroy it).
 */
function ropeTableFor(rec: Recorder, K: string, D: number, opts: { theta: number; invFreq?: ArrayLike<number> }): Tensor {
  if (opts.invFreq) {
    checkThat(K, opts.invFreq.length === D / 2, `invFreq has ${opts.invFreq.length} values; head dim ${D} needs ${D / 2}`);
    checkThat(K, Array.from(opts.invFreq).every((f) => Number.isFinite(f) && f >= 0), 'invFreq values must be finite and >= 0');
    let m = explicitTables.get(rec.gpu);
    if (!m) explicitTables.set(rec.gpu, (m = new Map()));
    const key = Array.from(opts.invFreq).join(',');
    let t = m.get(key);
    if (!t) m.set(key, (t = unpooledUpload(rec.gpu, ropeTable(opts.invFreq), 'f32', `rope table D=${D} (explicit frequencies)`)));
    return t;
  }
  checkThat(K, Number.isFinite(opts.theta) && opts.theta > 0, `theta must be a finite number > 0, got ${opts.theta}`);
  return cachedRopeTable(rec.gpu, D, opts.theta);
}

/** RoPE on x [B, T, H, D] at positions pos0 + t (the same for every b). */
export async function rope(rec: Recorder, x: Tensor, opts: RopeOptions): Promise<Tensor> {
  const K = 'rope';
  const { pos0 } = opts;
  const [T, H, D] = checkRopeInput(K, 'x', x, pos0);
  let table: Tensor;
  if (opts.invFreq) {
    checkThat(K, opts.invFreq.length === D / 2, `invFreq has ${opts.invFreq.length} values; head dim ${D} needs ${D / 2}`);
    checkThat(K, Array.from(opts.invFreq).every((f) => Number.isFinite(f) && f >= 0), 'invFreq values must be finite and >= 0');
    table = unpooledUpload(rec.gpu, ropeTable(opts.invFreq), 'f32', 'rope table');
  } else {
    checkThat(K, Number.isFinite(opts.theta) && opts.theta > 0, `theta must be a finite number > 0, got ${opts.theta}`);
    table = cachedRopeTable(rec.gpu, D, opts.theta);
  }
  const y = opts.out ?? rec.gpu.empty(x.shape, 'f32', K);
  checkDtype(K, y, 'f32');
  checkShape(K, 'output', y, x.shape);
  const n = (x.size / (H * D)) * (D / 2); // one invocation per (b, t, i); it loops over the H heads
  const pipe = await rec.gpu.pipeline(K, wgsl('rope.wgsl'), { WG });
  rec.dispatch(pipe, params([n, D / 2, H, T, pos0, 0, 0, 0]), [x, table, y], grid1d(n, WG));
  return y;
}
