// Second stage of sumsq.wgsl: one invocation sums the per-chunk partials (in 64-term blocks)
// and forms the clip factor: sumsq[0] = s, scale[0] = min(1, max_norm / (sqrt(s) + 1e-6)),
// or 1 when max_norm <= 0.
struct Params { n: u32, off: u32, max_norm: f32, _a: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> partial: array<f32>;
@group(0) @binding(2) var<storage, read_write> sumsq: array<f32>;
@group(0) @binding(3) var<storage, read_write> scale: array<f32>;

@compute @workgroup_size(1)
fn main() {
  var s = 0.0;
  for (var j0 = 0u; j0 < p.n; j0 += 64u) {
    var b = 0.0;
    for (var j = j0; j < min(j0 + 64u, p.n); j++) { b += partial[j]; }
    s += b;
  }
  sumsq[0] = s;
  var f = 1.0;
  if (p.max_norm > 0.0) { f = min(1.0, p.max_norm / (sqrt(s) + 1e-6)); }
  scale[0] = f;
}
