// Rotary position embedding, Hugging Face rotate_half convention, on x [B, T, H, D]:
//   for i < D/2: a = (pos0 + t) * inv_freq[i]
//   y[i] = x[i] cos a - x[i + D/2] sin a,   y[i + D/2] = x[i + D/2] cos a + x[i] sin a
// One invocation per (b, t, i), looping over the heads: the angle and its sin/cos are computed
// once per (t, i) instead of once per head. Positions are the same for every b.
//
// The angle is reduced exactly enough for any position below 2^24. The host passes, per i, the
// frequency in revolutions r = inv_freq / 2pi split as r = r1 + r2 + r3, where r1 and r2 carry
// 12 significant bits each (tab[i] = (r1, r2, r3, 0)). With the position split as
// p = ph * 4096 + pl (12 bits each), the products ph * (4096 r1), ph * (4096 r2), pl * r1, pl * r2
// are exact in f32 (12 x 12 bits), so their fractional parts are exact too; p * r3 is tiny
// (|r3| <= r 2^-24). Summing the centred fractions gives the angle modulo 2pi to ~1e-7
// revolutions, where a plain f32 p * inv_freq is off by ~1e-3 rad at p = 32000.
override WG: u32 = 256u;

struct Params { n: u32, half: u32, heads: u32, t_len: u32, pos0: u32, _a: u32, _b: u32, _c: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> tab: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;

const TWO_PI: f32 = 6.283185307179586;

// v minus the nearest integer: in [-0.5, 0.5], exact for any f32
fn centred_fract(v: f32) -> f32 { return v - round(v); }

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let k = gid.x + gid.y * nwg.x * WG;
  if (k >= p.n) { return; }
  let i = k % p.half;
  let bt = k / p.half;  // (b, t) flattened
  let t = bt % p.t_len;
  let pos = p.pos0 + t;
  let ph = f32(pos >> 12u);
  let pl = f32(pos & 4095u);
  let r = tab[i];
  var rev = centred_fract(ph * (4096.0 * r.x));
  rev = centred_fract(rev + centred_fract(ph * (4096.0 * r.y)));
  rev = centred_fract(rev + centred_fract(pl * r.x));
  rev = centred_fract(rev + centred_fract(pl * r.y));
  rev = centred_fract(rev + centred_fract(f32(pos) * r.z));
  let a = rev * TWO_PI;  // in [-pi, pi]
  let c = cos(a);
  let s = sin(a);
  for (var h = 0u; h < p.heads; h++) {
    let base = (bt * p.heads + h) * 2u * p.half;
    let x1 = x[base + i];
    let x2 = x[base + i + p.half];
    y[base + i] = x1 * c - x2 * s;
    y[base + i + p.half] = x2 * c + x1 * s;
  }
}
