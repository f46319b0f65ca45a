// The RoPE angle a = pos * inv_freq, reduced modulo 2pi exactly enough for any pos below 2^24
// (rope.wgsl, forward and, with SIN_SIGN = -1, backward: both get bit-identical sin/cos from it),
// and its cos/sin by rope_cos_sin below, not by the builtins.
// r = tab[i] = (r1, r2, r3, 0): the frequency in revolutions inv_freq / 2pi split by the host as
// r1 + r2 + r3, r1 and r2 with 12 significant bits each. With pos = ph * 4096 + pl (12 bits each),
// ph * (4096 r1), ph * (4096 r2), pl * r1, pl * r2 are exact in f32 (12 x 12 bits), so their
// fractional parts are exact too; pos * r3 is tiny (|r3| <= r 2^-24). Summing the centred fractions
// gives the angle modulo 2pi to ~1e-7 revolutions, where a plain f32 pos * inv_freq is off by
// ~1e-3 rad at pos = 32000.

const TWO_PI: f32 = 6.283185307179586;

// v minus the nearest integer: in [-0.5, 0.5], exact for any f32
fn centred_fract(v: f32) -> f32 { return v - round(v); }

// the angle in [-pi, pi]
fn rope_angle(pos: u32, r: vec4<f32>) -> f32 {
  let ph = f32(pos >> 12u);
  let pl = f32(pos & 4095u);
  var rev = centred_fract(ph * (4096.0 * r.x));
  rev = centred_fract(rev + centred_fract(ph * (4096.0 * r.y)));
  rev = centred_fract(rev + centred_fract(pl * r.x));
  rev = centred_fract(rev + centred_fract(pl * r.y));
  rev = centred_fract(rev + centred_fract(f32(pos) * r.z));
  return rev * TWO_PI;
}

// cos and sin of a in [-pi, pi], accurate to a few f32 ulps: the nearest multiple q of pi/2 taken off
// in two parts (Cody-Waite: f32(pi/2) and its remainder), then Taylor polynomials on [-pi/4, pi/4]
// (truncation below 2e-9) and the quadrant's swap and signs. The WGSL builtins sin/cos only promise
// an absolute error of 2^-11 on [-pi, pi]; SwiftShader's are ~2e-5 off, 5x the tests' tolerance.
fn rope_cos_sin(a: f32) -> vec2<f32> {
  let q = round(a * 0.6366197723675814);
  let r = (a - q * 1.5707963705062866) + q * 4.371139000186243e-8;
  let r2 = r * r;
  let s = r + r * r2 * (-1.0 / 6.0 + r2 * (1.0 / 120.0 + r2 * (-1.0 / 5040.0 + r2 * (1.0 / 362880.0))));
  let c = 1.0 + r2 * (-0.5 + r2 * (1.0 / 24.0 + r2 * (-1.0 / 720.0 + r2 * (1.0 / 40320.0 + r2 * (-1.0 / 3628800.0)))));
  let k = i32(q) & 3; // q mod 4, negative q included
  if (k == 0) { return vec2<f32>(c, s); }
  if (k == 1) { return vec2<f32>(-s, c); }
  if (k == 2) { return vec2<f32>(-c, -s); }
  return vec2<f32>(s, -c);
}
