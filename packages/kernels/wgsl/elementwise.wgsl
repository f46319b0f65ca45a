// Elementwise ops over flat f32 tensors. The op is chosen by the OP override constant, so each
// op is its own pipeline:
//   0 add      y = a + b            (residual add)
//   1 mul      y = a * b
//   2 scale    y = a * alpha
//   3 gelu     y = 0.5 a (1 + erf(a / sqrt 2))           (exact, "gelu")
//   4 gelu_tanh y = 0.5 a (1 + tanh(sqrt(2/pi)(a + 0.044715 a^3)))   ("gelu_pytorch_tanh")
//   5 quick_gelu y = a * sigmoid(1.702 a)
//   6 silu_mul  y = silu(a) * b      (SwiGLU: a = gate, b = up)
//   7 silu      y = a * sigmoid(a)
override OP: u32 = 0u;
override WG: u32 = 256u;

struct Params { n: u32, alpha: f32, b_len: u32, _pad: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;

//#include "common/activation.wgsl"

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= p.n) { return; }
  let x = a[i];
  var bi = i;
  if (p.b_len > 0u) { bi = i % p.b_len; }  // broadcast b over leading dims
  var r: f32;
  switch OP {
    case 0u: { r = x + b[bi]; }
    case 1u: { r = x * b[bi]; }
    case 2u: { r = x * p.alpha; }
    case 3u: { r = 0.5 * x * (1.0 + erf_approx(x * 0.70710678118654752)); }
    case 4u: { r = 0.5 * x * (1.0 + tanh_safe(0.7978845608028654 * (x + 0.044715 * x * x * x))); }
    case 5u: { r = x * sigmoid(1.702 * x); }
    case 6u: { r = x * sigmoid(x) * b[bi]; }
    case 7u: { r = x * sigmoid(x); }
    default: { r = x; }
  }
  y[i] = r;
}
