// Split-K merge of attention_flash.wgsl's partials, then the plain / tap / patch epilogue.
// One invocation per output row (b, t, h). With M = max_k m_k and c_k = exp(m_k - M):
//   out = (sum_k c_k acc_k) / (sum_k c_k l_k)
// A split that saw no visible key has m = NEG, l = 0, acc = 0, so c_k = 0 and it drops out.
// Template: ops/attention/flash.ts replaces $D4.
//#include "attention_flash_common.wgsl"
override WG: u32 = 64u;
override POS_BUF: u32 = 0u;
const D4: u32 = $D4u;

@group(0) @binding(0) var<uniform> prm: Params;
@group(0) @binding(1) var<storage, read> ml: array<vec2<f32>>;
@group(0) @binding(2) var<storage, read> part: array<vec4<f32>>;
// plain
@group(0) @binding(3) var<storage, read_write> out_plain: array<vec4<f32>>;
// tap
@group(0) @binding(3) var<storage, read> tap_pos: array<u32>;
@group(0) @binding(4) var<storage, read_write> out_tap: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read_write> tap: array<vec4<f32>>;
// patch
@group(0) @binding(3) var<storage, read> patch_pos: array<u32>;
@group(0) @binding(4) var<storage, read> mask: array<u32>;
@group(0) @binding(5) var<storage, read> values: array<vec4<f32>>;
@group(0) @binding(6) var<storage, read_write> out_patch: array<vec4<f32>>;

var<private> row: u32;
var<private> bb: u32;
var<private> tt: u32;
var<private> hh: u32;
var<private> o: array<vec4<f32>, D4>;

// Merges the splits of this invocation's row into o (normalised); false if idle.
fn merge(gid: vec3<u32>, nwg: vec3<u32>) -> bool {
  let rows = prm.b * prm.tn * prm.hq;
  row = gid.x + gid.y * nwg.x * WG;
  if (row >= rows) { return false; }
  hh = row % prm.hq;
  tt = (row / prm.hq) % prm.tn;
  bb = row / (prm.hq * prm.tn);
  var mx = ml[row].x;
  for (var k = 1u; k < prm.splits; k++) { mx = max(mx, ml[k * rows + row].x); }
  var l = 0.0;
  for (var i = 0u; i < D4; i++) { o[i] = vec4<f32>(0.0); }
  for (var k = 0u; k < prm.splits; k++) {
    let p = ml[k * rows + row];
    let c = exp(p.x - mx);
    l += c * p.y;
    let pb = (k * rows + row) * D4;
    for (var i = 0u; i < D4; i++) { o[i] += c * part[pb + i]; }
  }
  let r = 1.0 / l;
  for (var i = 0u; i < D4; i++) { o[i] *= r; }
  return true;
}

//#include "common/attention_pos.wgsl"

@compute @workgroup_size(WG)
fn main_plain(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  if (!merge(gid, nwg)) { return; }
  for (var i = 0u; i < D4; i++) { out_plain[row * D4 + i] = o[i]; }
}

@compute @workgroup_size(WG)
fn main_tap(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  if (!merge(gid, nwg)) { return; }
  for (var i = 0u; i < D4; i++) { out_tap[row * D4 + i] = o[i]; }
  for (var k = 0u; k < prm.npos; k++) {
    if (tap_pos_at(k) == tt) {
      let tb = (((bb * prm.npos + k) * prm.layers + prm.layer) * prm.hq + hh) * D4;
      for (var i = 0u; i < D4; i++) { tap[tb + i] = o[i]; }
    }
  }
}

@compute @workgroup_size(WG)
fn main_patch(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  if (!merge(gid, nwg)) { return; }
  if (patch_hit(bb, tt, hh)) {
    let vb = (prm.layer * prm.hq + hh) * D4;
    for (var i = 0u; i < D4; i++) { out_patch[row * D4 + i] = values[vb + i]; }
  } else {
    for (var i = 0u; i < D4; i++) { out_patch[row * D4 + i] = o[i]; }
  }
}
