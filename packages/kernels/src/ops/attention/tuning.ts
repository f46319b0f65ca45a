// The attention tuning table: which variant each adapter class gets, and the flash tile.
//
//   adapter class                    variant     why
//   CPU (llvmpipe, SwiftShader,      register    no workgroup memory, no barrier: on llvmpipe a
//   lavapipe: report.cpuAdapter)                 barrier is a coroutine switch. Measured on llvmpipe
//                                                (Mesa 22.3, 2 cores shared with a training run, load
//                                                ~8, so noisy; Hq 14 / Hkv 2, D 64, median of 9
//                                                round-robin pairs): flash/register 3.2x [0.8-13.8] at
//                                                prefill S = 64, 2.4x [0.7-3.9] at decode S = 256
//                                                (split-K 8); plus each flash pipeline's coroutine JIT.
//   GPU (everything else)            flash       K/V tiles shared by a workgroup through workgroup
//                                                memory, online softmax; split-K for decode. Not yet
//                                                measured on a GPU (the bench's S = 1024 / 4096 rows)
//
// Override: the call option `variant`, else env MTV_ATTENTION_VARIANT=flash|register, else the
// table above (matmul's `variant` option works the same way). Flash needs, per workgroup, two tiles
// of TK keys x D f32 in workgroup memory and WG invocations; a device short of either gets the
// register variant with one logged warning (see flashPlan), never an error.
import type { AdapterReport, DeviceLimits } from '../../device.js';
import { envVariant } from '../../variant-choice.js';

export type AttentionVariant = 'register' | 'flash';
export const ATTENTION_VARIANTS: readonly AttentionVariant[] = ['register', 'flash'];

export function defaultAttentionVariant(report: Pick<AdapterReport, 'cpuAdapter'>): AttentionVariant {
  return report.cpuAdapter ? 'register' : 'flash';
}

/** MTV_ATTENTION_VARIANT, checked; undefined when unset or empty. */
export function envAttentionVariant(env: NodeJS.ProcessEnv = process.env): AttentionVariant | undefined {
  return envVariant('attention', 'MTV_ATTENTION_VARIANT', ATTENTION_VARIANTS, env);
}

/** Call option, else env, else the adapter's default. */
export function chooseAttentionVariant(report: Pick<AdapterReport, 'cpuAdapter'>, requested?: AttentionVariant): AttentionVariant {
  return requested ?? envAttentionVariant() ?? defaultAttentionVariant(report);
}

/** Invocations per flash workgroup (one query item each). */
export const FLASH_WG = 64;
/** Most keys per tile: 32 x D 64 x 2 tiles = 16 KiB, the WebGPU default workgroup storage. */
export const FLASH_MAX_TK = 32;
/** Fewest keys per tile worth the barriers; below this the device falls back. */
export const FLASH_MIN_TK = 4;

export interface FlashTile {
  /** Keys per tile (a power of two). */
  tk: number;
  wg: number;
}

/**
 * The flash tile for head_dim `d` on a device with `limits`, or the reason it cannot run there:
 * TK = the largest power of two <= 32 with 2 tiles (K and V) of TK x d f32 in the workgroup memory.
 */
export function flashPlan(d: number, limits: Pick<DeviceLimits, 'maxComputeWorkgroupStorageSize' | 'maxComputeInvocationsPerWorkgroup' | 'maxComputeWorkgroupSizeX'>): FlashTile | { reason: string } {
  const wg = FLASH_WG;
  if (limits.maxComputeInvocationsPerWorkgroup < wg || limits.maxComputeWorkgroupSizeX < wg) {
    return { reason: `the device allows ${Math.min(limits.maxComputeInvocationsPerWorkgroup, limits.maxComputeWorkgroupSizeX)} invocations per workgroup; flash needs ${wg}` };
  }
  const perKey = 2 * d * 4; // one K and one V row of f32
  let tk = FLASH_MAX_TK;
  while (tk > FLASH_MIN_TK && tk * perKey > limits.maxComputeWorkgroupStorageSize) tk /= 2;
  if (tk * perKey > limits.maxComputeWorkgroupStorageSize) {
    return { reason: `head_dim ${d} needs ${FLASH_MIN_TK * perKey} bytes of workgroup memory for a ${FLASH_MIN_TK}-key tile; the device allows ${limits.maxComputeWorkgroupStorageSize}` };
  }
  return { tk, wg };
}

/** Split-K for decode aims at about this many workgroups in flight. */
const SPLIT_TARGET_WORKGROUPS = 128;
/** Most splits (the combine pass reads every split's partial per row). */
export const FLASH_MAX_SPLITS = 64;

/**
 * Key splits: 1 for prefill (Tn > 1: the query blocks already fill the device); for decode as many
 * as bring the grid to ~128 workgroups, at most one per key tile and at most 64.
 */
export function flashSplits(tn: number, keys: number, tk: number, workgroups: number): number {
  if (tn > 1) return 1;
  const tiles = Math.ceil(keys / tk);
  return Math.max(1, Math.min(FLASH_MAX_SPLITS, tiles, Math.ceil(SPLIT_TARGET_WORKGROUPS / workgroups)));
}
