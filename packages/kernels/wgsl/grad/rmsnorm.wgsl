// RMSNorm backward, dx part, one invocation per row. Forward: r = 1 / sqrt(mean(x^2) + eps),
// y = x r w. With g = dy w:  dx = r (g - x r^2 mean(g x)).
// Each row also writes st[row] = (0, 0, r, 0) for colreduce.wgsl (MODE 2): dweight = sum dy x r.
override WG: u32 = 64u;

struct Params { rows: u32, h: u32, eps: f32, _a: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> dy: array<f32>;
@group(0) @binding(3) var<storage, read> weight: array<f32>;
@group(0) @binding(4) var<storage, read_write> dx: array<f32>;
@group(0) @binding(5) var<storage, read_write> st: array<vec4<f32>>;

const BLOCK: u32 = 64u;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let row = gid.x + gid.y * nwg.x * WG;
  if (row >= p.rows) { return; }
  let base = row * p.h;
  let hf = f32(p.h);
  var ss = 0.0;
  var sgx = 0.0;
  for (var j0 = 0u; j0 < p.h; j0 += BLOCK) {
    var b = 0.0;
    var bgx = 0.0;
    for (var j = j0; j < min(j0 + BLOCK, p.h); j++) {
      let v = x[base + j];
      b += v * v;
      bgx += dy[base + j] * weight[j] * v;
    }
    ss += b;
    sgx += bgx;
  }
  let r = 1.0 / sqrt(ss / hf + p.eps);
  let k = r * r * (sgx / hf);
  for (var j = 0u; j < p.h; j++) {
    dx[base + j] = r * (dy[base + j] * weight[j] - x[base + j] * k);
  }
  st[row] = vec4<f32>(0.0, 0.0, r, 0.0);
}
