// RoPE backward on dy [B, T, H, D] (HF rotate_half convention): a rotation's transpose is the
// rotation by -a, so with a = (pos0 + t) inv_freq[i], for i < D/2:
//   dx[i] = dy[i] cos a + dy[i + D/2] sin a,   dx[i + D/2] = dy[i + D/2] cos a - dy[i] sin a
// The angle comes from common/rope_angle.wgsl with the same table as wgsl/rope.wgsl, so forward
// and backward use bit-identical sin/cos.
override WG: u32 = 256u;

struct Params { n: u32, half: u32, heads: u32, t_len: u32, pos0: u32, _a: u32, _b: u32, _c: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read> tab: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> dx: array<f32>;

//#include "common/rope_angle.wgsl"

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let k = gid.x + gid.y * nwg.x * WG;
  if (k >= p.n) { return; }
  let i = k % p.half;
  let bt = k / p.half;
  let t = bt % p.t_len;
  let a = rope_angle(p.pos0 + t, tab[i]);
  let c = cos(a);
  let s = sin(a);
  for (var h = 0u; h < p.heads; h++) {
    let base = (bt * p.heads + h) * 2u * p.half;
    let g1 = dy[base + i];
    let g2 = dy[base + i + p.half];
    dx[base + i] = g1 * c + g2 * s;
    dx[base + i + p.half] = g2 * c - g1 * s;
  }
}
