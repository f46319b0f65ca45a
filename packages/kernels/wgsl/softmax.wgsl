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

const BLOCK: u32 = 64u;

//#include "common/row_logsumexp.wgsl"
//#include "common/wg_reduce.wgsl"

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
  let m = row_max(base, 0u, 1u, p.n);
  let s = row_sum_exp(base, 0u, 1u, p.n, m);
  write_row(base, 0u, 1u, m, s);
}

@compute @workgroup_size(WG)
fn main_wg(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32, @builtin(num_workgroups) nwg: vec3<u32>) {
  let r = wid.x + wid.y * nwg.x;
  if (r >= p.rows) { return; }
  let base = r * p.n;
  let m = reduce_max(row_max(base, lid, WG, p.n), lid);
  let s = reduce_sum(row_sum_exp(base, lid, WG, p.n, m), lid);
  write_row(base, lid, WG, m, s);
}
