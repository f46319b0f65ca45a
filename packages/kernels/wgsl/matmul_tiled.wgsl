// Y = X · Wᵀ (+ b), workgroup-tiled for real GPUs: a TS x TS workgroup computes a (R·TS)² tile of
// Y, staging BK-wide slices of X and W in workgroup memory; each invocation accumulates an R x R
// block. Prepended by matmul_io_f32.wgsl or matmul_io_f16.wgsl (scalar ldx1/ldw1 loads, any K).
// Layout and chunking as in matmul_register.wgsl: W is this chunk's [n, K], Y is [M, ldy], the
// chunk writes columns [n0, n0 + n). Out-of-range tile elements are staged as zeros.
override TS: u32 = 16u;     // invocations per workgroup side
const BK: u32 = 16u;        // K slice staged per step
const R: u32 = 4u;          // per-invocation block side

// has_bias is a uniform flag rather than an override: one pipeline fewer per block shape
// (a 32x32 block takes seconds to JIT on llvmpipe), for a uniform branch in the epilogue.
struct Params { m: u32, n: u32, k: u32, n0: u32, ldy: u32, has_bias: u32, _p1: u32, _p2: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;

// k-major tiles: xs[kk * T + r]; an invocation reads rows i*TS + lid.y, so neighbours read
// neighbouring words (no bank conflicts).
var<workgroup> xs: array<f32, BK * R * TS>;
var<workgroup> ws: array<f32, BK * R * TS>;

@compute @workgroup_size(TS, TS)
fn main(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
  let T = R * TS;
  let row0 = wid.y * T;
  let col0 = wid.x * T;
  let tid = lid.y * TS + lid.x;
  var acc: array<array<f32, R>, R>;
  for (var k0 = 0u; k0 < p.k; k0 += BK) {
    // cooperative staging; consecutive invocations read consecutive k of one row (coalesced)
    for (var e = tid; e < T * BK; e += TS * TS) {
      let r = e / BK;
      let kk = e % BK;
      let gk = k0 + kk;
      var xv = 0.0;
      if (row0 + r < p.m && gk < p.k) { xv = ldx1((row0 + r) * p.k + gk); }
      xs[kk * T + r] = xv;
      var wv = 0.0;
      if (col0 + r < p.n && gk < p.k) { wv = ldw1((col0 + r) * p.k + gk); }
      ws[kk * T + r] = wv;
    }
    workgroupBarrier();
    for (var kk = 0u; kk < BK; kk++) {
      var a: array<f32, R>;
      var b: array<f32, R>;
      for (var i = 0u; i < R; i++) { a[i] = xs[kk * T + i * TS + lid.y]; }
      for (var j = 0u; j < R; j++) { b[j] = ws[kk * T + j * TS + lid.x]; }
      for (var i = 0u; i < R; i++) {
        for (var j = 0u; j < R; j++) { acc[i][j] = fma(a[i], b[j], acc[i][j]); }
      }
    }
    workgroupBarrier();
  }
  for (var i = 0u; i < R; i++) {
    let r = row0 + i * TS + lid.y;
    for (var j = 0u; j < R; j++) {
      let c = col0 + j * TS + lid.x;
      if (r < p.m && c < p.n) {
        var v = acc[i][j];
        if (p.has_bias != 0u) { v += bias[p.n0 + c]; }
        y[r * p.ldy + p.n0 + c] = v;
      }
    }
  }
}
