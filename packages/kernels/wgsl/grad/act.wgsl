// Activation backward, dx = dy * act'(x), x the forward input. OP (override):
//   0 gelu       act' = 0.5 (1 + erf(x / sqrt 2)) + x exp(-x^2 / 2) / sqrt(2 pi)
//   1 gelu_tanh  u = k (x + 0.044715 x^3), t = tanh u: act' = 0.5 (1 + t) + 0.5 x (1 - t^2) k (1 + 3 0.044715 x^2)
//   2 quick_gelu s = sigmoid(1.702 x): act' = s + 1.702 x s (1 - s)
//   3 silu       s = sigmoid(x): act' = s (1 + x (1 - s))
override OP: u32 = 0u;
override WG: u32 = 256u;

struct Params { n: u32, _a: u32, _b: u32, _c: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> dy: array<f32>;
@group(0) @binding(3) var<storage, read_write> dx: array<f32>;

//#include "common/activation.wgsl"

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= p.n) { return; }
  let v = x[i];
  var d: f32;
  switch OP {
    case 0u: { d = 0.5 * (1.0 + erf_approx(v * 0.70710678118654752)) + v * exp(-0.5 * v * v) * 0.3989422804014327; }
    case 1u: {
      let k = 0.7978845608028654;
      let t = tanh_safe(k * (v + 0.044715 * v * v * v));
      d = 0.5 * (1.0 + t) + 0.5 * v * (1.0 - t * t) * k * (1.0 + 0.134145 * v * v);
    }
    case 2u: { let s = sigmoid(1.702 * v); d = s + 1.702 * v * s * (1.0 - s); }
    default: { let s = sigmoid(v); d = s * (1.0 + v * (1.0 - s)); }
  }
  dx[i] = dy[i] * d;
}
