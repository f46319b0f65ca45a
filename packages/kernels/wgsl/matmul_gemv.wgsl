// Y = X · Wᵀ (+ b) for a few rows of X (decode: M = 1), real GPUs. One workgroup of 64 invocations
// computes 4 adjacent columns of one row of Y: invocation t accumulates the dot products over k =
// 4t, 4t + 256, ... (coalesced vec4 loads of the 4 W rows), then the 64 partial sums are reduced by
// `reduce4`, from matmul_gemv_wg.wgsl (workgroup-memory tree) or matmul_gemv_sg.wgsl (subgroupAdd,
// used when the device has `subgroups`). Those files hold the entry point.
//
// Prepended by matmul_io_*.wgsl (ldx4/ldx1, ldw4/ldw1: f32 loads, f16 W widened exactly; f32
// accumulation). Layout and chunking as in matmul_register.wgsl. Grid: (ceil(n / 4), M).
const WG: u32 = 64u;        // invocations per workgroup (a power of two: the tree halves it)
const COLS: u32 = 4u;       // columns of Y per workgroup

struct Params { m: u32, n: u32, k: u32, n0: u32, ldy: u32, has_bias: u32, _p1: u32, _p2: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;

var<workgroup> part: array<vec4<f32>, WG>;

// This invocation's partial dot products of X row `row` with W rows col0 .. col0+3 (rows past n
// are clamped: loaded in bounds, results discarded by store4).
fn partial4(t: u32, row: u32, col0: u32) -> vec4<f32> {
  var acc = vec4<f32>(0.0);
  let xb = row * p.k;
  var wb: array<u32, COLS>;
  for (var j = 0u; j < COLS; j++) { wb[j] = min(col0 + j, p.n - 1u) * p.k; }
  let k4 = p.k & ~3u;
  for (var k = 4u * t; k < k4; k += 4u * WG) {
    let xv = ldx4(xb + k);
    for (var j = 0u; j < COLS; j++) { acc[j] += dot(xv, ldw4(wb[j] + k)); }
  }
  let kt = k4 + t; // the K % 4 tail: one k each for the first K % 4 invocations
  if (kt < p.k) {
    let xv = ldx1(xb + kt);
    for (var j = 0u; j < COLS; j++) { acc[j] += xv * ldw1(wb[j] + kt); }
  }
  return acc;
}

fn store4(row: u32, col0: u32, v: vec4<f32>) {
  if (row >= p.m) { return; }
  for (var j = 0u; j < COLS; j++) {
    let c = col0 + j;
    if (c >= p.n) { break; }
    var o = v[j];
    if (p.has_bias != 0u) { o += bias[p.n0 + c]; }
    y[row * p.ldy + p.n0 + c] = o;
  }
}
