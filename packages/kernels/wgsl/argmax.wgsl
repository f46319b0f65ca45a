// argmax over the last dimension of a [rows, n] f32 chunk into y[r0 + row] (i32): the first
// index of the maximum, like torch. NaN inputs give an unspecified index (WGSL does not promise
// NaN comparisons). Entry points as in softmax.wgsl: main_row (one invocation per row) and
// main_wg (one workgroup per row; each invocation keeps the first maximum of its strided
// subsequence, then a tree merge prefers the larger value, or the smaller index on a tie).
// FLAG_NONFINITE: a row holding any NaN or +-Inf writes -1 instead of an index, so greedy decoding
// learns of broken logits from the one id it reads back (the bit test, not v != v, which
// compilers may fold).
override WG: u32 = 64u;
override FLAG_NONFINITE: bool = false;

struct Params { rows: u32, n: u32, r0: u32, _a: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<i32>;

const NEG_MAX: f32 = -0x1.fffffep+127f;
const NONE: u32 = 0xffffffffu;

var<workgroup> sh_v: array<f32, WG>;
var<workgroup> sh_i: array<u32, WG>;
var<workgroup> sh_bad: atomic<u32>; // zero-initialised, like all workgroup memory

fn non_finite(v: f32) -> bool {
  return (bitcast<u32>(v) & 0x7f800000u) == 0x7f800000u;
}

@compute @workgroup_size(WG)
fn main_row(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let r = gid.x + gid.y * nwg.x * WG;
  if (r >= p.rows) { return; }
  let base = r * p.n;
  var best = x[base];
  var bi = 0u;
  var bad = FLAG_NONFINITE && non_finite(best);
  for (var j = 1u; j < p.n; j++) {
    let v = x[base + j];
    if (v > best) { best = v; bi = j; }
    if (FLAG_NONFINITE && non_finite(v)) { bad = true; }
  }
  y[p.r0 + r] = select(i32(bi), -1, bad);
}

@compute @workgroup_size(WG)
fn main_wg(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32, @builtin(num_workgroups) nwg: vec3<u32>) {
  let r = wid.x + wid.y * nwg.x;
  if (r >= p.rows) { return; }
  let base = r * p.n;
  // NONE marks an invocation with no elements: it loses every merge, even against -inf values
  var best = NEG_MAX;
  var bi = NONE;
  for (var j = lid; j < p.n; j += WG) {
    let v = x[base + j];
    if (v > best || bi == NONE) { best = v; bi = j; }
    if (FLAG_NONFINITE && non_finite(v)) { atomicStore(&sh_bad, 1u); }
  }
  sh_v[lid] = best;
  sh_i[lid] = bi;
  workgroupBarrier();
  for (var k = WG / 2u; k > 0u; k = k >> 1u) {
    if (lid < k) {
      let ov = sh_v[lid + k];
      let oi = sh_i[lid + k];
      let v = sh_v[lid];
      let i = sh_i[lid];
      if (oi != NONE && (i == NONE || ov > v || (ov == v && oi < i))) { sh_v[lid] = ov; sh_i[lid] = oi; }
    }
    workgroupBarrier();
  }
  if (lid == 0u) { y[p.r0 + r] = select(i32(sh_i[0]), -1, FLAG_NONFINITE && atomicLoad(&sh_bad) != 0u); }
}
