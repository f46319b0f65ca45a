// The matmul tuning table: which variant and block shape each adapter class gets.
//
// Measured on Mesa llvmpipe (LLVM 15, 256-bit, 2 cores; `npm run bench -w @mtv/kernels`):
// llvmpipe turns every storage-buffer load into a per-lane scalar loop, so what counts is load
// instructions per multiply-add. A TM x TN register block costs TM + TN vec4 loads per
// 4·TM·TN MACs: 4x4 gave ~6 GFLOP/s at 1024³, 8x8 ~10, 16x16 ~15, 32x32 ~35 (WG 8 best of
// 8/16/32/64). Blocks over 32 (48x48, 64x32) returned WRONG results on llvmpipe 22.3 (huge
// register arrays), so 32 is the cap. The catch: llvmpipe JITs a 32x32 block in 40 s to 2 min
// (16x16: 2 to 7 s), once per machine (Mesa's on-disk shader cache keeps it), so 32x32 is only
// chosen for large GEMMs (M, N >= 256, K % 4 == 0) where it pays back; everything else uses
// at most 16x16. Workgroup-tiled kernels with barriers run at ~1 GFLOP/s
// there (barriers are coroutine switches), so CPU adapters use 'register' and GPUs 'tiled'.
import type { AdapterReport } from '../../device.js';

export type MatmulVariant = 'register' | 'tiled';

export interface RegisterTuning {
  /** Rows of Y per invocation. */
  tm: number;
  /** Columns of Y per invocation. */
  tn: number;
  /** Invocations per workgroup (along N). */
  wg: number;
}

export function defaultMatmulVariant(report: Pick<AdapterReport, 'cpuAdapter'>): MatmulVariant {
  return report.cpuAdapter ? 'register' : 'tiled';
}


/**
 * Register block for an M x N x K product: 32x32 for large aligned GEMMs; otherwise TN = 16 and
 * TM bucketed to 1 (GEMV: decode does not load the same X row 16 times), 4 (M <= 4) or 16. Every
 * distinct block is its own pipeline, compiled on first use (seconds of JIT on llvmpipe), and M is the
 * token count, so the buckets are few on purpose: a power of two per M compiled up to 5 variants
 * as prompt lengths varied (issue 18).
 */
export function registerTuning(m: number, n: number, k: number): RegisterTuning {
  if (m >= 256 && n >= 256 && k % 4 === 0) return { tm: 32, tn: 32, wg: 8 };
  return { tm: m <= 1 ? 1 : m <= 4 ? 4 : 16, tn: 16, wg: 8 };
}

/** Workgroup side of the tiled variant: 16x16 invocations where allowed, else 8x8. */
export function tiledSide(maxInvocations: number): number {
  return maxInvocations >= 256 ? 16 : 8;
}
