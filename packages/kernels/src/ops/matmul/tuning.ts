// The matmul tuning table: which variant and block shape each adapter class gets, and why.
//
// | adapter class                          | variant (M > 4)        | M <= 4 (decode)          | W f16 loads           |
// | -------------------------------------- | ---------------------- | ------------------------ | --------------------- |
// | CPU adapter (llvmpipe, SwiftShader)    | register, blocks below | register, TM = 1 or 4    | unpack2x16float       |
// | GPU without shader-f16 / subgroups     | tiled 64x64, 4x4/inv.  | gemv, workgroup tree     | unpack2x16float       |
// | GPU with shader-f16                    | tiled, W staged as f16 | gemv, f16 loads          | array<f16> (no unpack)|
// | GPU with subgroups                     | tiled                  | gemv, subgroupAdd        | as above              |
//
// CPU adapters, measured on Mesa llvmpipe (LLVM 15, 256-bit, 2 cores; `npm run bench -w @mtv/kernels`):
// llvmpipe turns every storage-buffer load into a per-lane scalar loop, so what counts is load
// instructions per multiply-add. A TM x TN register block costs TM + TN vec4 loads per
// 4·TM·TN MACs: 4x4 gave ~6 GFLOP/s at 1024³, 8x8 ~10, 16x16 ~15, 32x32 ~35 (WG 8 best of
// 8/16/32/64). Blocks over 32 (48x48, 64x32) returned WRONG results on llvmpipe 22.3 (huge
// register arrays), so 32 is the cap. The catch: llvmpipe JITs a 32x32 block in 40 s to 2 min
// (16x16: 2 to 7 s), once per machine (Mesa's on-disk shader cache keeps it), so 32x32 is only
// chosen for large GEMMs (M, N >= 256, K % 4 == 0) where it pays back; everything else uses
// at most 16x16. Workgroup-tiled kernels with barriers run at ~1 GFLOP/s
// there (barriers are coroutine switches), so CPU adapters use 'register' and GPUs 'tiled'.
// CPU adapters never take the f16 or subgroup paths (SwiftShader offers subgroups, but the
// register variant has no cross-lane exchange to speed up).
//
// GPUs (not yet measured on one: the figures come from `matmul.bench.ts --peak-gflops` on a GPU
// host): 'tiled' is the classic shared-memory GEMM. A 64x64 tile with a 4x4 block per invocation
// re-reads each staged element 16 times from workgroup memory and does 2 vec4 workgroup loads per
// 16 FMAs; the two staged slices are 2 x 16 x 64 x 4 B = 8 KiB of workgroup memory per K step of
// 16, inside the 16 KiB compatibility-mode limit. Where the device allows only 128 invocations (compatibility
// mode), the workgroup is 8x8 and the tile 32x32. With shader-f16, W is bound as array<f16> (the
// packed layout is already an f16 array), loaded and staged as f16 (half the bytes, no unpack
// ALU) and widened to f32 for the FMA: results are bit-identical in precision to f32 staging
// (f16 -> f32 is exact), accumulation stays f32. A decode step (M <= 4) would use 1/16 of a 64-row
// tile, so it gets 'gemv': 64 invocations per 4 columns, split-K, reduced by a workgroup tree or,
// with `subgroups`, by subgroupAdd (one barrier instead of six).
import type { AdapterReport } from '../../device.js';

export type MatmulVariant = 'register' | 'tiled' | 'gemv';

export const MATMUL_VARIANTS: readonly MatmulVariant[] = ['register', 'tiled', 'gemv'];

export interface RegisterTuning {
  /** Rows of Y per invocation. */
  tm: number;
  /** Columns of Y per invocation. */
  tn: number;
  /** Invocations per workgroup (along N). */
  wg: number;
}

/** Rows of X up to which GPUs use 'gemv' instead of a 64-row tile. */
export const GEMV_MAX_M = 4;

/** The variant for this adapter; with `m`, GPUs take 'gemv' for decode-sized products (M <= 4). */
export function defaultMatmulVariant(report: Pick<AdapterReport, 'cpuAdapter'>, m?: number): MatmulVariant {
  if (report.cpuAdapter) return 'register';
  return m !== undefined && m <= GEMV_MAX_M ? 'gemv' : 'tiled';
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

/** Workgroup side of the tiled variant: 16x16 invocations (64x64 tile) where allowed, else 8x8 (32x32). */
export function tiledSide(maxInvocations: number): number {
  return maxInvocations >= 256 ? 16 : 8;
}
