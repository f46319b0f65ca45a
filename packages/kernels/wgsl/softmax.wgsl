// Softmax / log-softmax over the last dimension of a [rows, n] f32 tensor, max-subtracted:
//   m = max_j x_j,  s = sum_j exp(x_j - m)
//   softmax_j = exp(x_j - m) / s,  log_softmax_j = x_j - m - log(s)
// LOG selects log-softmax. Two entry points (src/ops/rowwise.ts):
//   main_row: one invocation per row, serial loops (no barriers; best on llvmpipe)
//   main_wg:  one workgroup of WG invocations per row, tree reductions in workgroup memory
// Sums are blocked (64 terms per partial) so the f32 rounding error grows like 64 + n/64, not n.
override WG: u32 = 64u;
override LOG: bool = false;

struct Params { rows: u32, n: u32, _a: u32, _b: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;

const NEG_MAX: f32 = -0x1.fffffep+127f; // most negative finite f32 (-inf is not a WGSL constant)
const BLOCK: u32 = 64u;

var<workgroup> sh_max: array<f32, WG>;
var<workgroup> sh_sum: array<f32, WG>;

fn write_row(base: u32, start: u32, stride: u32, m: f32, s: f32) {
  let ls = log(s);
  let inv = 1.0 / s;
  for (var j = start; j < p.n; j += stride) {
    let d = x[base + j] - m;
    if (LOG) { y[base + j] = d - ls; } else { y[base + j] = exp(d) * inv; }
  }
}

@compute @workgroup_size(WG)
fn main_row(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let r = gid.x + gid.y * nwg.x * WG;
  if (r >= p.rows) { return; }
  let base = r * p.n;
  var m = NEG_MAX;
  for (var j = 0u; j < p.n; j++) { m = max(m, x[base + j]); }
  var s = 0.0;
  var j = 0u;
  while (j < p.n) {
    let end = min(j + BLOCK, p.n);
    var b = 0.0;
    for (; j < end; j++) { b += exp(x[base + j] - m); }
    s += b;
  }
  write_row(base, 0u, 1u, m, s);
}

// Tree reductions. Each has its own array: Mesa llvmpipe was seen to move the final load of
// sh[0] past the barrier after it, so a second reduction reusing one array let some invocations
// read the other's partials (see layernorm.wgsl). With separate arrays nothing overwrites a result.
fn reduce_max(v: f32, lid: u32) -> f32 {
  sh_max[lid] = v;
  workgroupBarrier();
  for (var k = WG / 2u; k > 0u; k = k >> 1u) {
    if (lid < k) { sh_max[lid] = max(sh_max[lid], sh_max[lid + k]); }
    workgroupBarrier();
  }
  return sh_max[0];
}

fn reduce_sum(v: f32, lid: u32) -> f32 {
  sh_sum[lid] = v;
  workgroupBarrier();
  for (var k = WG / 2u; k > 0u; k = k >> 1u) {
    if (lid < k) { sh_sum[lid] = sh_sum[lid] + sh_sum[lid + k]; }
    workgroupBarrier();
  }
  return sh_sum[0];
}

@compute @workgroup_size(WG)
fn main_wg(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32, @builtin(num_workgroups) nwg: vec3<u32>) {
  let r = wid.x + wid.y * nwg.x;
  if (r >= p.rows) { return; }
  let base = r * p.n;
  var m = NEG_MAX;
  for (var j = lid; j < p.n; j += WG) { m = max(m, x[base + j]); }
  m = reduce_max(m, lid);
  var s = 0.0;
  var j = lid;
  while (j < p.n) {
    let end = min(j + BLOCK * WG, p.n);
    var b = 0.0;
    for (; j < end; j += WG) { b += exp(x[base + j] - m); }
    s += b;
  }
  s = reduce_sum(s, lid);
  write_row(base, lid, WG, m, s);
}
