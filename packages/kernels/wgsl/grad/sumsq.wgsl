// Global gradient norm for clipping, deterministic, in two kernels:
//   main:         partial[off + c] = sum of x[i]^2 over the chunk i in [c CH, c CH + CH) of one
//                 tensor (one dispatch per tensor, each writing its own range of partial)
//   then sumsq_final.wgsl: one invocation sums the partials (blocked) and forms
//                 sumsq[0] = s, scale[0] = min(1, max_norm / (sqrt(s) + 1e-6)) (clip_grad_norm_),
//                 or 1 when max_norm <= 0 (no clipping)
override WG: u32 = 256u;
const CH: u32 = 256u;

struct Params { n: u32, off: u32, max_norm: f32, _a: u32 }
@group(0) @binding(0) var<uniform> p: Params;

@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> partial: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let c = gid.x + gid.y * nwg.x * WG;
  let start = c * CH;
  if (start >= p.n) { return; }
  let end = min(start + CH, p.n);
  var s = 0.0;
  for (var i = start; i < end; i++) { let v = x[i]; s += v * v; }
  partial[p.off + c] = s;
}
