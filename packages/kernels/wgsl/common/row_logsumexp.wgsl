// Row statistics for a max-subtracted softmax / logsumexp over x[base + j], j in [0, len), taken
// at j = start, start + stride, ... (stride 1: one invocation per row; stride WG: this
// invocation's share of a workgroup's row, combined with common/wg_reduce.wgsl).
// Uses the includer's `x: array<f32>` binding and `BLOCK`: sums are blocked, BLOCK terms per
// partial, so the f32 rounding error grows like BLOCK + len / BLOCK, not len.

const NEG_MAX: f32 = -0x1.fffffep+127f; // most negative finite f32 (-inf is not a WGSL constant)

// max_j x[base + j] (NEG_MAX when this invocation has no terms)
fn row_max(base: u32, start: u32, stride: u32, len: u32) -> f32 {
  var m = NEG_MAX;
  for (var j = start; j < len; j += stride) { m = max(m, x[base + j]); }
  return m;
}

// sum_j exp(x[base + j] - m)
fn row_sum_exp(base: u32, start: u32, stride: u32, len: u32, m: f32) -> f32 {
  var s = 0.0;
  var j = start;
  while (j < len) {
    let end = min(j + BLOCK * stride, len);
    var b = 0.0;
    for (; j < end; j += stride) { b += exp(x[base + j] - m); }
    s += b;
  }
  return s;
}
