// Y = X · Wᵀ (+ b), register-blocked for CPU adapters (llvmpipe): each invocation computes a
// TM x TN block of Y from vec4 loads of X and W rows, with no workgroup memory and no barriers.
// Prepended by one of matmul_io_*.wgsl (bindings 1 x, 2 w and the ldx4/ldw4/ldx1/ldw1 loads).
// On llvmpipe every storage load is a per-lane scalar loop, so the cost is the number of load
// instructions per lane: a TM x TN block does TM + TN vec4 loads per 4·TM·TN multiply-adds.
//
// X is [M, K] row-major, W (this chunk) is [n, K] row-major, Y is [M, ldy]; the chunk writes
// columns [n0, n0 + n) of Y. Rows/columns past the edge are clamped for loads (in bounds, results
// discarded) and skipped for stores, so any M, N work; K % 4 != 0 is the scalar tail loop.
// TM x TN is the register block. They size function-scope arrays, which WGSL only allows for
// const expressions (not overrides), so the host rewrites these two lines (ops/matmul.ts).
const TM: u32 = 4u;         // rows of Y per invocation
const TN: u32 = 4u;         // columns of Y per invocation
override WGX: u32 = 16u;    // invocations along N
override WGY: u32 = 4u;     // invocations along M

// has_bias is a uniform flag rather than an override: one pipeline fewer per block shape
// (a 32x32 block takes seconds to JIT on llvmpipe), for a uniform branch in the epilogue.
struct Params { m: u32, n: u32, k: u32, n0: u32, ldy: u32, has_bias: u32, _p1: u32, _p2: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;

@compute @workgroup_size(WGX, WGY)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let c0 = gid.x * TN;
  let r0 = gid.y * TM;
  if (c0 >= p.n || r0 >= p.m) { return; }
  var xb: array<u32, TM>;
  var wb: array<u32, TN>;
  for (var i = 0u; i < TM; i++) { xb[i] = min(r0 + i, p.m - 1u) * p.k; }
  for (var j = 0u; j < TN; j++) { wb[j] = min(c0 + j, p.n - 1u) * p.k; }
  var acc: array<array<f32, TN>, TM>;
  let k4 = p.k & ~3u;
  for (var k = 0u; k < k4; k += 4u) {
    var xv: array<vec4<f32>, TM>;
    for (var i = 0u; i < TM; i++) { xv[i] = ldx4(xb[i] + k); }
    for (var j = 0u; j < TN; j++) {
      let wv = ldw4(wb[j] + k);
      for (var i = 0u; i < TM; i++) { acc[i][j] += dot(xv[i], wv); }
    }
  }
  for (var k = k4; k < p.k; k++) {
    for (var j = 0u; j < TN; j++) {
      let wv = ldw1(wb[j] + k);
      for (var i = 0u; i < TM; i++) { acc[i][j] += ldx1(xb[i] + k) * wv; }
    }
  }
  for (var i = 0u; i < TM; i++) {
    let r = r0 + i;
    if (r >= p.m) { break; }
    for (var j = 0u; j < TN; j++) {
      let c = c0 + j;
      if (c >= p.n) { break; }
      var v = acc[i][j];
      if (p.has_bias != 0u) { v += bias[p.n0 + c]; }
      y[r * p.ldy + p.n0 + c] = v;
    }
  }
}
