// RMSNorm over the last dimension of a [rows, h] f32 tensor (Llama / Qwen2):
//   y = x / sqrt(sum(x^2) / h + eps) * weight
// Entry points as in softmax.wgsl: main_row (one invocation per row, serial) and main_wg
// (one workgroup per row, tree reduction). Sums are blocked, 64 terms per partial.
override WG: u32 = 64u;

struct Params { rows: u32, h: u32, eps: f32, _a: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> weight: array<f32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;

const BLOCK: u32 = 64u;

//#include "common/wg_reduce.wgsl"

// sum of x^2: the LayerNorm deviation sum around c = delta = 0 (x - 0 - 0 is x exactly)
//#include "common/layernorm_stats.wgsl"

fn write_row(base: u32, start: u32, stride: u32, scale: f32) {
  for (var j = start; j < p.h; j += stride) {
    y[base + j] = x[base + j] * scale * weight[j];
  }
}

@compute @workgroup_size(WG)
fn main_row(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let r = gid.x + gid.y * nwg.x * WG;
  if (r >= p.rows) { return; }
  let base = r * p.h;
  let ms = sum_sq_dev(base, 0u, 1u, 0.0, 0.0) / f32(p.h);
  write_row(base, 0u, 1u, 1.0 / sqrt(ms + p.eps));
}

@compute @workgroup_size(WG)
fn main_wg(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32, @builtin(num_workgroups) nwg: vec3<u32>) {
  let r = wid.x + wid.y * nwg.x;
  if (r >= p.rows) { return; }
  let base = r * p.h;
  let ms = reduce_sum(sum_sq_dev(base, lid, WG, 0.0, 0.0), lid) / f32(p.h);
  write_row(base, lid, WG, 1.0 / sqrt(ms + p.eps));
}
