// Rotary position embedding, Hugging Face rotate_half convention, on x [B, T, H, D]:
//   for i < D/2: a = (pos0 + t) * inv_freq[i]
//   y[i] = x[i] cos a - x[i + D/2] sin a,   y[i + D/2] = x[i + D/2] cos a + x[i] sin a
// One invocation per (b, t, i), looping over the heads: the angle and its sin/cos are computed
// once per (t, i) instead of once per head. Positions are the same for every b.
//
// The angle is reduced modulo 2pi exactly enough for any position below 2^24 with the host-built
// table tab[i] of frequencies in revolutions, split in 12-bit parts (common/rope_angle.wgsl).
//
// SIN_SIGN = -1 gives the backward (ropeBackward): a rotation's transpose is the rotation by -a, so
// dx[i] = dy[i] cos a + dy[i + D/2] sin a, dx[i + D/2] = dy[i + D/2] cos a - dy[i] sin a, with the
// same bit-identical sin/cos as the forward.
override WG: u32 = 256u;
override SIN_SIGN: f32 = 1.0;

struct Params { n: u32, half: u32, heads: u32, t_len: u32, pos0: u32, _a: u32, _b: u32, _c: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> tab: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;

//#include "common/rope_angle.wgsl"

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let k = gid.x + gid.y * nwg.x * WG;
  if (k >= p.n) { return; }
  let i = k % p.half;
  let bt = k / p.half;  // (b, t) flattened
  let t = bt % p.t_len;
  let a = rope_angle(p.pos0 + t, tab[i]);
  let cs = rope_cos_sin(a);
  let c = cs.x;
  let s = SIN_SIGN * cs.y;
  for (var h = 0u; h < p.heads; h++) {
    let base = (bt * p.heads + h) * 2u * p.half;
    let x1 = x[base + i];
    let x2 = x[base + i + p.half];
    y[base + i] = x1 * c - x2 * s;
    y[base + i + p.half] = x2 * c + x1 * s;
  }
}
