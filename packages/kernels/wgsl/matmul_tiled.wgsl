// Y = X · Wᵀ (+ b), workgroup-tiled for real GPUs. A TS x TS workgroup computes a T x T tile of Y
// (T = R·TS: 64x64 with 16x16 invocations, 32x32 with 8x8 where the device allows only 128
// invocations, as compatibility mode does); each invocation owns an R x R = 4x4 register block:
// rows 4·lid.y + i, columns 4·lid.x + j of the tile. Per BK-wide K step the workgroup stages the
// X and W slices in workgroup memory k-major, packed so one vec4 load from workgroup memory gives
// an invocation its 4 rows (xs) or 4 columns (ws) at one k: 2 vec4 workgroup loads per 16 FMAs.
//
// Prepended by matmul_io_*.wgsl (ldx4/ldx1, and ldwv4/ldwv1 + alias WV, the staged W type: f32, or
// f16 when the device has shader-f16, matmul_io_f16h*.wgsl; accumulation is f32 either way).
// Layout and chunking as in matmul_register.wgsl: W is this chunk's [n, K], Y is [M, ldy], the
// chunk writes columns [n0, n0 + n). Rows past M / N and k past K are staged as zeros, so ragged
// edges need no special case in the inner loop; a K step that straddles K loads scalars.
override TS: u32 = 16u;     // invocations per workgroup side
const BK: u32 = 16u;        // K slice staged per step (a multiple of 4)
const R: u32 = 4u;          // register block side; the vec4 packing below fixes it at 4

struct Params { m: u32, n: u32, k: u32, n0: u32, ldy: u32, has_bias: u32, _p1: u32, _p2: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;

// xs[kk * TS + q] = X rows 4q .. 4q+3 of the tile at k0 + kk (ws the same for W rows = Y columns).
var<workgroup> xs: array<vec4<f32>, BK * TS>;
var<workgroup> ws: array<WV, BK * TS>;

// 4 consecutive k of X row `row` from k = gk: a vec4 load when all 4 are inside K (with the vec4
// io prelude, K % 4 == 0, so gk is then vec4-aligned), else guarded scalars.
fn stageX(row: u32, gk: u32) -> vec4<f32> {
  var v = vec4<f32>(0.0);
  if (row >= p.m) { return v; }
  let base = row * p.k + gk;
  if (gk + 3u < p.k) { return ldx4(base); }
  for (var c = 0u; c < 4u; c++) { if (gk + c < p.k) { v[c] = ldx1(base + c); } }
  return v;
}

fn stageW(row: u32, gk: u32) -> WV {
  var v = WV();
  if (row >= p.n) { return v; }
  let base = row * p.k + gk;
  if (gk + 3u < p.k) { return ldwv4(base); }
  for (var c = 0u; c < 4u; c++) { if (gk + c < p.k) { v[c] = ldwv1(base + c); } }
  return v;
}

@compute @workgroup_size(TS, TS)
fn main(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
  let T = R * TS;
  let row0 = wid.y * T;
  let col0 = wid.x * T;
  let tid = lid.y * TS + lid.x;
  var acc: array<vec4<f32>, R>;
  for (var k0 = 0u; k0 < p.k; k0 += BK) {
    // T rows x BK/4 vec4 per operand; consecutive invocations take consecutive k of one row
    for (var e = tid; e < T * (BK / 4u); e += TS * TS) {
      let r = e / (BK / 4u);
      let kq = (e % (BK / 4u)) * 4u;
      let xv = stageX(row0 + r, k0 + kq);
      let wv = stageW(col0 + r, k0 + kq);
      for (var c = 0u; c < 4u; c++) {
        xs[(kq + c) * TS + r / 4u][r % 4u] = xv[c];
        ws[(kq + c) * TS + r / 4u][r % 4u] = wv[c];
      }
    }
    workgroupBarrier();
    for (var kk = 0u; kk < BK; kk++) {
      let a = xs[kk * TS + lid.y];
      let b = vec4<f32>(ws[kk * TS + lid.x]); // f16 -> f32 is exact
      for (var i = 0u; i < R; i++) { acc[i] = fma(vec4<f32>(a[i]), b, acc[i]); }
    }
    workgroupBarrier();
  }
  for (var i = 0u; i < R; i++) {
    let r = row0 + R * lid.y + i;
    if (r >= p.m) { break; }
    for (var j = 0u; j < R; j++) {
      let c = col0 + R * lid.x + j;
      if (c >= p.n) { break; }
      var v = acc[i][j];
      if (p.has_bias != 0u) { v += bias[p.n0 + c]; }
      y[r * p.ldy + p.n0 + c] = v;
    }
  }
}
