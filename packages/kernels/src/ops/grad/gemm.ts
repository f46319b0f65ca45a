// General f32 matmul with transpose flags for the backward pass (wgsl/grad/gemm.wgsl).
import { checkDtype, checkShape, checkThat } from '../../check.js';
import { fmtShape } from '../../errors.js';
import type { Recorder } from '../../recorder.js';
import type { Tensor } from '../../tensor.js';
import { params, wgsl } from '../../wgsl.js';

const K = 'gemm';
/** Invocations per workgroup, all along N (8 measured best for the forward's register kernel). */
const WGX = 8;
/**
 * Register block sides the kernel is compiled for. 16 x 16 ran ~15% faster than 8 x 8 at 256³
 * but took minutes to compile on llvmpipe (nested private arrays of mat4x4), so 8 is the cap.
 */
const BLOCKS = [4, 8] as const;
export type GemmBlock = (typeof BLOCKS)[number];
/** Below this many invocations the block is shrunk: two cores need several workgroups. */
const MIN_INVOCATIONS = 32;

export interface GemmOptions {
  /** A is stored [K, M] and used transposed. */
  transA?: boolean;
  /** B is stored [N, K] and used transposed. */
  transB?: boolean;
  /** C += op(A)·op(B) into this [M, N] f32 tensor (gradient accumulation); returned. */
  accumulate?: Tensor;
  /** Write C into this [M, N] f32 tensor instead of a new one. */
  out?: Tensor;
  /** Register block [rows, cols] of C per invocation (tests); default from gemmBlock(). */
  block?: readonly [GemmBlock, GemmBlock];
}

const pow2ceil = (v: number): number => 2 ** Math.ceil(Math.log2(Math.max(1, v)));

/**
 * The register block for C [M, N]: 8 x 8 where the output allows (llvmpipe makes one per-lane
 * loop per load, so loads per multiply-add decide the speed; measured at 256³ under load:
 * 4x4 2.7, 8x8 3.7 GFLOP/s), halved while fewer than 32 invocations would share the work.
 */
export function gemmBlock(m: number, n: number): [GemmBlock, GemmBlock] {
  let tm = Math.min(8, Math.max(4, pow2ceil(m)));
  let tn = Math.min(8, Math.max(4, pow2ceil(n)));
  while (Math.ceil(m / tm) * Math.ceil(n / tn) < MIN_INVOCATIONS && Math.max(tm, tn) > 4) {
    if (tm >= tn) tm /= 2;
    else tn /= 2;
  }
  return [tm as GemmBlock, tn as GemmBlock];
}

/**
 * The operand loads prepended to gemm.wgsl: an aligned vec4 binding when every vec4 load starts
 * on a multiple of 4 (the operand's contiguous dimension is a multiple of 4), else clamped scalars.
 */
function loads(name: 'a' | 'b', binding: number, vec: boolean): string {
  if (vec) {
    return [
      `@group(0) @binding(${binding}) var<storage, read> ${name}: array<vec4<f32>>;`,
      `fn ld${name}4(base: u32, col: u32, last: u32) -> vec4<f32> { return ${name}[(base + min(col, last - 3u)) >> 2u]; }`,
      `fn ld${name}1(i: u32) -> f32 { return ${name}[i >> 2u][i & 3u]; }`,
    ].join('\n');
  }
  return [
    `@group(0) @binding(${binding}) var<storage, read> ${name}: array<f32>;`,
    `fn ld${name}4(base: u32, col: u32, last: u32) -> vec4<f32> {`,
    `  return vec4<f32>(${name}[base + min(col, last)], ${name}[base + min(col + 1u, last)], ${name}[base + min(col + 2u, last)], ${name}[base + min(col + 3u, last)]);`,
    `}`,
    `fn ld${name}1(i: u32) -> f32 { return ${name}[i]; }`,
  ].join('\n');
}

/** [rows, cols] of a tensor of rank >= 2 with its leading dimensions flattened into rows. */
function matrixShape(what: string, t: Tensor): [number, number] {
  checkDtype(K, t, 'f32');
  checkThat(K, t.rank >= 2, `${what} ${fmtShape(t.shape)} must have rank >= 2`);
  const cols = t.shape[t.rank - 1]!;
  return [cols === 0 ? 0 : t.size / cols, cols];
}

/**
 * C[M, N] = op(A) · op(B), op(X) = Xᵀ when the flag is set; leading dimensions of A and B are
 * flattened (A [B, T, N] is a [B*T, N] matrix). With `accumulate`, C += op(A) · op(B) in place.
 */
export async function gemm(rec: Recorder, a: Tensor, b: Tensor, opts: GemmOptions = {}): Promise<Tensor> {
  const transA = opts.transA ?? false;
  const transB = opts.transB ?? false;
  const [ar, ac] = matrixShape('A', a);
  const [br, bc] = matrixShape('B', b);
  const [m, ka] = transA ? [ac, ar] : [ar, ac];
  const [kb, n] = transB ? [bc, br] : [br, bc];
  const desc = `A ${fmtShape(a.shape)}${transA ? 'ᵀ' : ''} · B ${fmtShape(b.shape)}${transB ? 'ᵀ' : ''}`;
  checkThat(K, ka === kb, `inner dimensions differ: ${desc} (${ka} vs ${kb})`);
  checkThat(K, !(opts.accumulate && opts.out), 'give either accumulate or out, not both');
  const c = opts.accumulate ?? opts.out ?? rec.gpu.empty([m, n], 'f32', K);
  checkDtype(K, c, 'f32');
  checkShape(K, `output of ${desc}`, c, [m, n]);
  if (m === 0 || n === 0) return c;
  // K = 0 runs the kernel with an empty sum (C = 0, or C unchanged with accumulate); the
  // operands are then bound as scalars (a vec4 binding needs at least 16 bytes)
  const vecA = ka > 0 && (transA ? m : ka) % 4 === 0;
  const vecB = ka > 0 && (transB ? ka : n) % 4 === 0;
  const [tm, tn] = opts.block ?? gemmBlock(m, n);
  checkThat(K, BLOCKS.includes(tm) && BLOCKS.includes(tn), `block ${tm}x${tn} is not one of ${BLOCKS.join(', ')} per side`);
  const body = wgsl('grad/gemm.wgsl').replace('const TM4: u32 = 1u;', `const TM4: u32 = ${tm / 4}u;`).replace('const TN4: u32 = 1u;', `const TN4: u32 = ${tn / 4}u;`);
  const code = `${loads('a', 1, vecA)}\n${loads('b', 2, vecB)}\n${body}`;
  const pipe = await rec.gpu.pipeline(`${K}_${tm}x${tn}`, code, { TRANS_A: transA ? 1 : 0, TRANS_B: transB ? 1 : 0, ACC: opts.accumulate ? 1 : 0, WGX, WGY: 1 });
  rec.dispatch(pipe, params([m, n, ka, 0]), [a, b, c], [Math.ceil(n / tn / WGX), Math.ceil(m / tm)]);
  return c;
}
