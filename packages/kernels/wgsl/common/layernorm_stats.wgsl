// LayerNorm row statistics around a pivot c = x[row, 0] (layernorm.wgsl forward and
// grad/layernorm.wgsl backward, so both get bit-identical mean and rstd; rmsnorm.wgsl takes its
// sum of squares from sum_sq_dev with c = delta = 0). Sums run over
// j = start, start + stride, ... < p.h of the row at x[base], blocked, BLOCK terms per partial.
// Uses the includer's `x: array<f32>` binding, `p.h` and `BLOCK`.

// sum of x[base + j] - c
fn sum_dev(base: u32, start: u32, stride: u32, c: f32) -> f32 {
  var s = 0.0;
  var j = start;
  while (j < p.h) {
    let end = min(j + BLOCK * stride, p.h);
    var b = 0.0;
    for (; j < end; j += stride) { b += x[base + j] - c; }
    s += b;
  }
  return s;
}

// sum of ((x[base + j] - c) - delta)^2
fn sum_sq_dev(base: u32, start: u32, stride: u32, c: f32, delta: f32) -> f32 {
  var s = 0.0;
  var j = start;
  while (j < p.h) {
    let end = min(j + BLOCK * stride, p.h);
    var b = 0.0;
    for (; j < end; j += stride) {
      let d = (x[base + j] - c) - delta;
      b += d * d;
    }
    s += b;
  }
  return s;
}
