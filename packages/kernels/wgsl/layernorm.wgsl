// LayerNorm over the last dimension of a [rows, h] f32 tensor (PyTorch: biased variance):
//   mean = sum(x) / h,  var = sum((x - mean)^2) / h     (two passes: no E[x^2] - E[x]^2 cancellation)
//   y = (x - mean) / sqrt(var + eps) * weight + bias
// The mean is kept as a pivot c = x[row, 0] plus delta = sum(x - c) / h and x - mean is
// formed as (x - c) - delta: with a large offset (x ~ 1000 +- 1) x - c is exact, so neither the
// sum nor the f32 rounding of the mean itself (3e-5 at 1000) eats into the deviations.
// Entry points as in softmax.wgsl: main_row (one invocation per row, serial) and main_wg
// (one workgroup per row, tree reductions). Sums are blocked, 64 terms per partial.
override WG: u32 = 64u;

struct Params { rows: u32, h: u32, eps: f32, _a: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> weight: array<f32>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;

const BLOCK: u32 = 64u;

//#include "common/wg_reduce.wgsl"

//#include "common/layernorm_stats.wgsl"

fn write_row(base: u32, start: u32, stride: u32, c: f32, delta: f32, rstd: f32) {
  for (var j = start; j < p.h; j += stride) {
    y[base + j] = ((x[base + j] - c) - delta) * rstd * weight[j] + bias[j];
  }
}

@compute @workgroup_size(WG)
fn main_row(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let r = gid.x + gid.y * nwg.x * WG;
  if (r >= p.rows) { return; }
  let base = r * p.h;
  let hf = f32(p.h);
  let c = x[base];
  let delta = sum_dev(base, 0u, 1u, c) / hf;
  let v = sum_sq_dev(base, 0u, 1u, c, delta) / hf;
  write_row(base, 0u, 1u, c, delta, 1.0 / sqrt(v + p.eps));
}

@compute @workgroup_size(WG)
fn main_wg(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32, @builtin(num_workgroups) nwg: vec3<u32>) {
  let r = wid.x + wid.y * nwg.x;
  if (r >= p.rows) { return; }
  let base = r * p.h;
  let hf = f32(p.h);
  let c = x[base];
  let delta = reduce_sum(sum_dev(base, lid, WG, c), lid) / hf;
  let v = reduce_sum_b(sum_sq_dev(base, lid, WG, c, delta), lid) / hf;
  write_row(base, lid, WG, c, delta, 1.0 / sqrt(v + p.eps));
}
