// Y = X · Wᵀ (+ b), the nn.Linear convention (wgsl/matmul_register.wgsl, wgsl/matmul_tiled.wgsl,
// wgsl/matmul_gemv.wgsl; which one, and the f16 / subgroup paths: matmul/tuning.ts, matmul/plan.ts).
// x [..., K] f32 (leading dims flattened into M rows), w [N, K] f32 or packed f16, bias [N] f32,
// y [..., N] f32. W over the binding limit is bound as row chunks, one dispatch per chunk, each
// writing its column range of Y.
import { checkDtype, checkRank, checkShape, checkThat } from '../check.js';
import { fmtShape } from '../errors.js';
import type { PipelineEntry } from '../gpu.js';
import type { Recorder } from '../recorder.js';
import type { Tensor } from '../tensor.js';
import { params, wgsl } from '../wgsl.js';
import { logFallbacks, planMatmul, type MatmulPlan } from './matmul/plan.js';
import { registerTuning, tiledSide, type MatmulVariant } from './matmul/tuning.js';

export { GEMV_MAX_M, MATMUL_VARIANTS, defaultMatmulVariant, registerTuning, tiledSide, type MatmulVariant, type RegisterTuning } from './matmul/tuning.js';
export { envMatmulVariant, logFallbacks, planMatmul, type MatmulPlan, type MatmulRequest } from './matmul/plan.js';

export interface MatmulOptions {
  bias?: Tensor;
  /** Where to write Y (shape [..., N] f32); allocated when absent. */
  out?: Tensor;
  /** Kernel variant; default env MTV_MATMUL_VARIANT, else from the adapter (see matmul/tuning.ts). */
  variant?: MatmulVariant;
  /** f16 W loads where shader-f16 is granted (default on); `true` asks, falling back with a logged reason. */
  f16?: boolean;
  /** subgroupAdd reduction in 'gemv' where subgroups is granted (default on); `true` asks, as f16. */
  subgroups?: boolean;
  /** Split W at this many bytes instead of the device's binding limit (tests of the chunked path). */
  maxBindingBytes?: number;
}

const NAME = 'matmul';

/** The operand-load prelude: vec4 loads need every row to start on a vec4 (K % 4 == 0). */
function ioFile(wDtype: 'f32' | 'f16', vec4: boolean): string {
  return `matmul_io_${wDtype}${vec4 ? '_vec4' : ''}.wgsl`;
}

/** The operand-load prelude of the GPU variants: W as f16 (shader-f16) or through the f32 loads. */
function gpuIo(plan: MatmulPlan, wDtype: 'f32' | 'f16', vec4: boolean): string {
  if (plan.f16) return `enable f16;\n${plan.subgroups ? 'enable subgroups;\n' : ''}${wgsl(`matmul_io_f16h${vec4 ? '_vec4' : ''}.wgsl`)}`;
  return `${plan.subgroups ? 'enable subgroups;\n' : ''}${wgsl(ioFile(wDtype, vec4))}${wgsl('matmul_wv_f32.wgsl')}`;
}

/** The pipeline name: variant, block and load path, so a bench row and a compile error say which. */
export function matmulPipelineName(plan: MatmulPlan, wDtype: 'f32' | 'f16', m: number, n: number, k: number, maxInvocations: number): string {
  const w = plan.f16 ? 'f16h' : wDtype;
  const v4 = k % 4 === 0 ? '_v4' : '';
  if (plan.variant === 'register') {
    const t = registerTuning(m, n, k);
    return `matmul_register_${t.tm}x${t.tn}_${wDtype}`;
  }
  if (plan.variant === 'gemv') return `matmul_gemv_${plan.subgroups ? 'sg' : 'wg'}_${w}${v4}`;
  const t = 4 * tiledSide(maxInvocations);
  return `matmul_tiled_${t}x${t}_${w}${v4}`;
}

async function pipelineFor(rec: Recorder, plan: MatmulPlan, wDtype: 'f32' | 'f16', m: number, n: number, k: number): Promise<{ pipe: PipelineEntry; grid: (n: number) => [number, number] }> {
  const gpu = rec.gpu;
  const variant = plan.variant;
  const name = matmulPipelineName(plan, wDtype, m, n, k, gpu.limits.maxComputeInvocationsPerWorkgroup);
  if (variant === 'register') {
    const t = registerTuning(m, n, k);
    const body = wgsl('matmul_register.wgsl').replace('const TM: u32 = 4u;', `const TM: u32 = ${t.tm}u;`).replace('const TN: u32 = 4u;', `const TN: u32 = ${t.tn}u;`);
    const code = wgsl(ioFile(wDtype, k % 4 === 0)) + body;
    const pipe = await gpu.pipeline(name, code, { WGX: t.wg, WGY: 1 });
    return { pipe, grid: (n) => [Math.ceil(n / (t.tn * t.wg)), Math.ceil(m / t.tm)] };
  }
  const io = gpuIo(plan, wDtype, k % 4 === 0);
  if (variant === 'gemv') {
    const code = io + wgsl('matmul_gemv.wgsl') + wgsl(plan.subgroups ? 'matmul_gemv_sg.wgsl' : 'matmul_gemv_wg.wgsl');
    const pipe = await gpu.pipeline(name, code);
    return { pipe, grid: (n) => [Math.ceil(n / 4), m] };
  }
  const ts = tiledSide(gpu.limits.maxComputeInvocationsPerWorkgroup);
  const pipe = await gpu.pipeline(name, io + wgsl('matmul_tiled.wgsl'), { TS: ts });
  const tile = 4 * ts;
  return { pipe, grid: (n) => [Math.ceil(n / tile), Math.ceil(m / tile)] };
}

/** Y = X · Wᵀ (+ bias). Records the dispatches (one per W chunk); never submits. */
export async function matmul(rec: Recorder, x: Tensor, w: Tensor, opts: MatmulOptions = {}): Promise<Tensor> {
  checkDtype(NAME, x, 'f32');
  checkDtype(NAME, w, 'f32', 'f16');
  checkRank(NAME, w, 2);
  checkThat(NAME, x.rank >= 1, `x ${fmtShape(x.shape)} must have at least one dimension (K)`);
  const k = x.shape[x.rank - 1]!;
  const [n, kw] = w.shape as [number, number];
  checkThat(NAME, k === kw, `x ${fmtShape(x.shape)} has K = ${k} but w ${fmtShape(w.shape)} has K = ${kw} (w is [N, K])`);
  checkThat(NAME, k > 0 && n > 0, `empty contraction or output: x ${fmtShape(x.shape)}, w ${fmtShape(w.shape)}`);
  const m = x.size / k;
  const yShape = [...x.shape.slice(0, -1), n];
  if (opts.bias) {
    checkDtype(NAME, opts.bias, 'f32');
    checkShape(NAME, `bias for w ${fmtShape(w.shape)}`, opts.bias, [n]);
  }
  const gpu = rec.gpu;
  const limit = gpu.maxBinding;
  const maxBinding = opts.maxBindingBytes ?? limit;
  checkThat(NAME, maxBinding > 0 && maxBinding <= limit, `maxBindingBytes ${maxBinding} must be in (0, ${limit}]`);
  if (opts.out) {
    checkDtype(NAME, opts.out, 'f32');
    checkShape(NAME, `output for x ${fmtShape(x.shape)} · w ${fmtShape(w.shape)}ᵀ`, opts.out, yShape);
  }
  checkThat(NAME, m * n * 4 <= limit, `output ${fmtShape(yShape)} is ${m * n * 4} bytes, over the binding limit ${limit}; split the rows of x`);
  checkThat(NAME, x.byteLength <= limit, `x ${fmtShape(x.shape)} is ${x.byteLength} bytes, over the binding limit ${limit}; split its rows`);
  const y = opts.out ?? gpu.empty(yShape, 'f32', NAME);
  if (m === 0) return y;

  const wDtype = w.dtype as 'f32' | 'f16';
  const plan = planMatmul(gpu.report, m, wDtype, opts);
  logFallbacks(plan);
  checkThat(NAME, plan.variant !== 'gemv' || m <= gpu.limits.maxComputeWorkgroupsPerDimension, `gemv dispatches one workgroup row per row of x; M = ${m} is over ${gpu.limits.maxComputeWorkgroupsPerDimension}`);
  const { pipe, grid } = await pipelineFor(rec, plan, wDtype, m, n, k);
  const chunks = w.byteLength > maxBinding ? w.rowChunks(maxBinding) : [w];
  const bias = opts.bias ?? x; // bound but unread when has_bias is 0
  let n0 = 0;
  for (const chunk of chunks) {
    const rows = chunk.shape[0]!;
    rec.dispatch(pipe, params([m, rows, k, n0, n, opts.bias ? 1 : 0, 0, 0]), [x, chunk, bias, y], grid(rows));
    n0 += rows;
  }
  return y;
}
