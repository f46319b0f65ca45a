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

var<workgroup> sh_a: array<f32, WG>;
var<workgroup> sh_b: array<f32, WG>;

// sum over j = start, start + stride, ... < h of x[base + j] - c, blocked
fn sum_dev(base: u32, start: u32, stride: u32, c: f32) -> f32 {
  var s = 0.0;
  var j = start;
  while (j < p.h) {
    let end = min(j + BLOCK * stride, p.h);
    var b = 0.0;
    for (; j < end; j += stride) { b += x[base + j] - c; }
    s += b;
  }
  return s;
}

// the same for ((x[base + j] - c) - delta)^2
fn sum_sq_dev(base: u32, start: u32, stride: u32, c: f32, delta: f32) -> f32 {
  var s = 0.0;
  var j = start;
  while (j < p.h) {
    let end = min(j + BLOCK * stride, p.h);
    var b = 0.0;
    for (; j < end; j += stride) {
      let d = (x[base + j] - c) - delta;
      b += d * d;
    }
    s += b;
  }
  return s;
}

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

// Tree sums. Each reduction has its own array: Mesa llvmpipe was seen to move the final load
// of sh[0] past the barrier that follows it, so a second reduction reusing the array let some
// invocations read the other's partial sums. With separate arrays nothing overwrites a result.
fn reduce_a(v: f32, lid: u32) -> f32 {
  sh_a[lid] = v;
  workgroupBarrier();
  for (var k = WG / 2u; k > 0u; k = k >> 1u) {
    if (lid < k) { sh_a[lid] = sh_a[lid] + sh_a[lid + k]; }
    workgroupBarrier();
  }
  return sh_a[0];
}

fn reduce_b(v: f32, lid: u32) -> f32 {
  sh_b[lid] = v;
  workgroupBarrier();
  for (var k = WG / 2u; k > 0u; k = k >> 1u) {
    if (lid < k) { sh_b[lid] = sh_b[lid] + sh_b[lid + k]; }
    workgroupBarrier();
  }
  return sh_b[0];
}

@compute @workgroup_size(WG)
fn main_wg(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32, @builtin(num_workgroups) nwg: vec3<u32>) {
  let r = wid.x + wid.y * nwg.x;
  if (r >= p.rows) { return; }
  let base = r * p.h;
  let hf = f32(p.h);
  let c = x[base];
  let delta = reduce_a(sum_dev(base, lid, WG, c), lid) / hf;
  let v = reduce_b(sum_sq_dev(base, lid, WG, c, delta), lid) / hf;
  write_row(base, lid, WG, c, delta, 1.0 / sqrt(v + p.eps));
}
