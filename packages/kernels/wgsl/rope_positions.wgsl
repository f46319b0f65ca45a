// Rotary position embedding with an explicit position per (token, frequency), Hugging Face
// rotate_half convention, on x [B, T, H, D]:
//   for i < D/2: a = pos[t * D/2 + i] * inv_freq[i]
//   y[i] = x[i] cos a - x[i + D/2] sin a,   y[i + D/2] = x[i + D/2] cos a + x[i] sin a
// Multimodal RoPE (Qwen2-VL's M-RoPE: frequency i reads the temporal, height or width position of
// token t by its mrope_section) and the vision tower's 2-D rotary (the first half of the
// frequencies read the patch row, the second half its column) are both this with a host-built
// position table. Same angle reduction as rope.wgsl (common/rope_angle.wgsl), so positions equal
// for every frequency give bit-identical results to rope.wgsl at those positions.
override WG: u32 = 256u;

struct Params { n: u32, half: u32, heads: u32, t_len: u32, _a: u32, _b: u32, _c: u32, _d: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> tab: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> pos: array<u32>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;

//#include "common/rope_angle.wgsl"

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let k = gid.x + gid.y * nwg.x * WG;
  if (k >= p.n) { return; }
  let i = k % p.half;
  let bt = k / p.half;  // (b, t) flattened
  let t = bt % p.t_len;
  let a = rope_angle(pos[t * p.half + i], tab[i]);
  let cs = rope_cos_sin(a);
  let c = cs.x;
  let s = cs.y;
  for (var h = 0u; h < p.heads; h++) {
    let base = (bt * p.heads + h) * 2u * p.half;
    let x1 = x[base + i];
    let x2 = x[base + i + p.half];
    y[base + i] = x1 * c - x2 * s;
    y[base + i + p.half] = x2 * c + x1 * s;
  }
}
