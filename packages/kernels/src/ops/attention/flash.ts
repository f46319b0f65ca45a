// The flash variant of attention (wgsl/attention_flash.wgsl, split-K merge in
// wgsl/attention_flash_combine.wgsl): argument checks and tensors come from ops/attention.ts.
import type { AdapterReport } from '../../device.js';
import { KernelError } from '../../errors.js';
import { warnOnce } from '../../variant-choice.js';
import type { Recorder } from '../../recorder.js';
import { grid1d } from '../../recorder.js';
import type { Tensor } from '../../tensor.js';
import { params, wgsl } from '../../wgsl.js';
import { FLASH_MAX_SPLITS, flashPlan, flashSplits, type AttentionVariant, type FlashTile } from './tuning.js';

/** An attention call's shapes (layouts in wgsl/attention.wgsl's header) and its mask. */
export interface AttentionShape {
  B: number;
  Tn: number;
  Hq: number;
  Hkv: number;
  D: number;
  P: number;
  S: number;
  Smax: number;
  causal: boolean;
}

export interface FlashCall extends AttentionShape {
  entry: 'plain' | 'tap' | 'patch';
  /** q, kPre, vPre, kSuf, vSuf (kPre / vPre: any bound buffer when P = 0). */
  inputs: readonly [Tensor, Tensor, Tensor, Tensor, Tensor];
  /** The epilogue's bindings after the inputs, as the register variant binds them. */
  extra: readonly Tensor[];
  /** How many of `extra`'s last tensors are written. */
  outputs: number;
  scale: number;
  /** Positions for tap / patch: count, numbers for the uniform block (32 words), or a u32 tensor. */
  posCount: number;
  posWords: readonly number[];
  posTensor: boolean;
  layer: number;
  layers: number;
  /** Key splits; default from flashSplits (decode only). */
  splits?: number;
}

/**
 * The variant that will actually run: `flash` becomes `register` when the device cannot hold the
 * tile (one console warning per adapter and reason, never an error).
 */
export function effectiveVariant(report: AdapterReport, wanted: AttentionVariant, d: number): { variant: AttentionVariant; tile?: FlashTile } {
  if (wanted === 'register') return { variant: 'register' };
  const plan = flashPlan(d, report.limits);
  if ('tk' in plan) return { variant: 'flash', tile: plan };
  warnOnce(`attention|${report.description}|${plan.reason}`, `attention: the flash variant cannot run on ${report.description || report.device} (${report.backend}, ${report.featureLevel}): ${plan.reason}; using the register variant`);
  return { variant: 'register' };
}

const codes = new Map<string, string>();
function code(file: string, d4: number, tk: number, unroll: boolean): string {
  const key = `${file}/${d4}/${tk}/${unroll}`;
  let c = codes.get(key);
  if (c === undefined) {
    c = wgsl(file).replaceAll('$TKN', unroll ? 'TK' : 'prm.tk').replaceAll('$D4', String(d4)).replaceAll('$TK', String(tk));
    codes.set(key, c);
  }
  return c;
}

/** Kernel names in errors (Gpu.compile adds the backend a shader failed on). */
const pipeName = (pass: string, entry: string): string => `attention:flash${pass}:${entry}`;

/** Records the flash attention of `c` (one dispatch, or attend + combine with split-K). */
export async function flashAttention(rec: Recorder, c: FlashCall, tile: FlashTile): Promise<void> {
  const { tk, wg } = tile;
  const d4 = c.D / 4;
  const items = c.Tn * (c.Hq / c.Hkv);
  const qblocks = Math.ceil(items / wg);
  const keys = c.P + c.S; // the most keys any query sees
  const tiles = Math.ceil(keys / tk);
  const splits = c.splits ?? flashSplits(c.Tn, keys, tk, c.B * c.Hkv * qblocks);
  if (!Number.isInteger(splits) || splits < 1 || splits > FLASH_MAX_SPLITS) {
    throw new KernelError('attention', `splitK ${splits} must be an integer in 1..${FLASH_MAX_SPLITS}`);
  }
  const chunk = Math.ceil(tiles / splits) * tk; // splits past the last tile get no keys
  const block = params([c.B, c.Tn, c.Hq, c.Hkv, c.P, c.S, c.Smax, c.causal ? 1 : 0, { f32: c.scale }, c.posCount, c.layer, c.layers, splits, chunk, tk, 0, ...c.posWords]);
  const constants = { WG: wg, POS_BUF: c.posTensor ? 1 : 0 };
  // CPU adapters (flash only when forced): per-key loops not unrolled, see wgsl/attention_flash.wgsl
  const unroll = !rec.gpu.report.cpuAdapter;
  const grid = grid1d(c.B * c.Hkv * qblocks * splits, 1);
  if (splits === 1) {
    const pipe = await rec.gpu.pipeline(pipeName('', c.entry), code('attention_flash.wgsl', d4, tk, unroll), constants, `main_${c.entry}`);
    rec.dispatch(pipe, block, [...c.inputs, ...c.extra], grid, c.outputs);
    return;
  }
  const rows = c.B * c.Tn * c.Hq;
  const ml = rec.gpu.empty([splits, rows, 2], 'f32', 'attention:flash ml');
  const part = rec.gpu.empty([splits, rows, c.D], 'f32', 'attention:flash partial');
  const attend = await rec.gpu.pipeline(pipeName('', 'partial'), code('attention_flash.wgsl', d4, tk, unroll), { WG: wg, POS_BUF: 0 }, 'main_partial');
  const combine = await rec.gpu.pipeline(pipeName('-combine', c.entry), code('attention_flash_combine.wgsl', d4, tk, unroll), constants, `main_${c.entry}`);
  rec.dispatch(attend, block, [...c.inputs, ml, part], grid, 2);
  rec.dispatch(combine, block, [ml, part, ...c.extra], grid1d(rows, wg), c.outputs);
  rec.releaseAfterSubmit(ml, part);
}
