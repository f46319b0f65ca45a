// LayerNorm backward, dx part, one invocation per row (serial: what llvmpipe runs best).
// Forward (wgsl/layernorm.wgsl): xhat = (x - mean) rstd, y = xhat w + b. With g = dy w:
//   dx = rstd (g - mean(g) - xhat mean(g xhat))
// Two-pass statistics with the forward's pivot c = x[row, 0]: delta = mean(x - c), so
// x - mean = (x - c) - delta loses nothing to a large common offset. Each row also writes
// st[row] = (c, delta, rstd, 0), from which colreduce.wgsl (MODE 1) forms dweight = sum dy xhat.
// Sums are blocked (64 terms per partial) to keep f32 rounding error ~ sqrt-like in h.
override WG: u32 = 64u;

struct Params { rows: u32, h: u32, eps: f32, _a: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> dy: array<f32>;
@group(0) @binding(3) var<storage, read> weight: array<f32>;
@group(0) @binding(4) var<storage, read_write> dx: array<f32>;
@group(0) @binding(5) var<storage, read_write> st: array<vec4<f32>>;

const BLOCK: u32 = 64u;

//#include "common/layernorm_stats.wgsl"

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let r = gid.x + gid.y * nwg.x * WG;
  if (r >= p.rows) { return; }
  let base = r * p.h;
  let hf = f32(p.h);
  let c = x[base];
  let delta = sum_dev(base, 0u, 1u, c) / hf;
  let rstd = 1.0 / sqrt(sum_sq_dev(base, 0u, 1u, c, delta) / hf + p.eps);
  var sg = 0.0;
  var sgx = 0.0;
  for (var j0 = 0u; j0 < p.h; j0 += BLOCK) {
    var bg = 0.0;
    var bgx = 0.0;
    for (var j = j0; j < min(j0 + BLOCK, p.h); j++) {
      let g = dy[base + j] * weight[j];
      bg += g;
      bgx += g * (((x[base + j] - c) - delta) * rstd);
    }
    sg += bg;
    sgx += bgx;
  }
  let mg = sg / hf;
  let mgx = sgx / hf;
  for (var j = 0u; j < p.h; j++) {
    let xhat = ((x[base + j] - c) - delta) * rstd;
    dx[base + j] = rstd * (dy[base + j] * weight[j] - mg - xhat * mgx);
  }
  st[r] = vec4<f32>(c, delta, rstd, 0.0);
}
