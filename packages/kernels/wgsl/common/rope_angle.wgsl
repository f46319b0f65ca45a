// The RoPE angle a = pos * inv_freq, reduced modulo 2pi exactly enough for any pos below 2^24
// (rope.wgsl, forward and, with SIN_SIGN = -1, backward: both get bit-identical sin/cos from it).
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
