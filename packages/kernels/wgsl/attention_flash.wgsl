// Flash-attention-style variant of wgsl/attention.wgsl (same layouts, masks, GQA, tap and patch;
// read that header first), for GPUs: K/V tiles go through workgroup memory.
//
// Work split: a workgroup owns WG consecutive "items" (t, g) of one (batch row, kv head) -- all the
// GQA group's query heads of those tokens, one item per invocation -- and one split of the keys.
// The keys are the concatenation prefix ++ suffix (key j < P is prefix key j, else suffix key
// j - P). Tiles of TK keys stream through workgroup memory: every invocation loads a share of the
// tile (coalesced), a barrier, then each invocation scores its query against the TK keys and
// updates its online softmax once per tile (running max m, sum l, accumulator acc rescaled by
// exp(m_old - m_new)); a second barrier before the tile is overwritten. Item (t, g) sees keys
// j < P + S - Tn + t + 1 (causal) or j < P + S (bidirectional); the workgroup's key bound is that
// of its last item, and the extra keys are masked per item with weight exactly 0.
//
// Split-K (splits > 1, used for decode): split k of the workgroup grid takes keys
// [k * chunk, (k + 1) * chunk) and writes its partial (m, l) and unnormalised acc
// (entry main_partial); attention_flash_combine.wgsl merges the splits and runs the epilogue.
// A split with no visible key writes m = NEG, l = 0, acc = 0 (weight 0 in the merge).
//
// Template: ops/attention/flash.ts replaces $D4 (head_dim / 4), $TK (keys per tile) and $TKN, the
// bound of the per-key loops: TK on GPUs (unrolled), prm.tk on CPU adapters, where the unrolled
// loops made llvmpipe's coroutine JIT (barriers) take over a minute per pipeline.
// Entry points (separate pipelines): main_plain, main_tap, main_patch (splits = 1), main_partial.
//#include "attention_flash_common.wgsl"
override WG: u32 = 64u;
override POS_BUF: u32 = 0u;
const D4: u32 = $D4u;
const TK: u32 = $TKu;
const NEG: f32 = -3.0e38;  // a "minus infinity" that keeps exp() and subtraction finite

//#include "common/attention_bindings.wgsl"
// partial (split-K): ml[split, row] = (m, l), part[split, row, :] = acc
@group(0) @binding(6) var<storage, read_write> ml: array<vec2<f32>>;
@group(0) @binding(7) var<storage, read_write> part: array<vec4<f32>>;

var<workgroup> kt: array<vec4<f32>, TK * D4>;
var<workgroup> vt: array<vec4<f32>, TK * D4>;

var<private> has_item: bool;  // this invocation has an item
var<private> bb: u32;
var<private> tt: u32;
var<private> hh: u32;
var<private> row: u32;      // flat (b, t, h) index
var<private> split: u32;
var<private> m: f32;
var<private> l: f32;
var<private> acc: array<vec4<f32>, D4>;

// Loads keys j0..j0+TK-1 of (bb, kvh) into kt / vt; keys at or past nk are zero.
fn load_tile(j0: u32, nk: u32, kvh: u32, lid: u32) {
  for (var e = lid; e < TK * D4; e += WG) {
    let j = j0 + e / D4;
    let i = e % D4;
    var kk = vec4<f32>(0.0);
    var vv = vec4<f32>(0.0);
    if (j < prm.p) {
      let o = (j * prm.hkv + kvh) * D4 + i;
      kk = k_pre[o];
      vv = v_pre[o];
    } else if (j < nk) {
      let o = ((bb * prm.smax + j - prm.p) * prm.hkv + kvh) * D4 + i;
      kk = k_suf[o];
      vv = v_suf[o];
    }
    kt[e] = kk;
    vt[e] = vv;
  }
}

// Scores q against the tile's keys visible below lim and folds them into m, l, acc.
fn consume(j0: u32, lim: u32, qv: ptr<function, array<vec4<f32>, D4>>) {
  var sc: array<f32, TK>;
  var mt = m;
  for (var k = 0u; k < $TKN; k++) {
    var x = NEG;
    if (j0 + k < lim) {
      var d = vec4<f32>(0.0);
      for (var i = 0u; i < D4; i++) { d += (*qv)[i] * kt[k * D4 + i]; }
      x = (d.x + d.y) + (d.z + d.w);
      mt = max(mt, x);
    }
    sc[k] = x;
  }
  if (mt == NEG) { return; }  // no visible key in this tile (m is unchanged)
  let c = exp(m - mt);        // 0 on the first visible tile (m = NEG)
  l *= c;
  for (var i = 0u; i < D4; i++) { acc[i] *= c; }
  for (var k = 0u; k < $TKN; k++) {
    // masked keys weigh exactly 0, whatever the running max
    let w = select(0.0, exp(sc[k] - mt), j0 + k < lim);
    l += w;
    for (var i = 0u; i < D4; i++) { acc[i] += w * vt[k * D4 + i]; }
  }
  m = mt;
}

fn attend(wid: vec3<u32>, nwg: vec3<u32>, lid: u32) -> bool {
  let group = prm.hq / prm.hkv;
  let items = prm.tn * group;
  let qblocks = (items + WG - 1u) / WG;
  let wg = wid.x + wid.y * nwg.x;  // workgroup-uniform from here on
  let sp = wg % prm.splits;  // a let, not the private `split`: the loop bound must stay uniform
  split = sp;
  let rest = wg / prm.splits;
  let bk = rest / qblocks;
  if (bk >= prm.b * prm.hkv) { return false; }
  let blk = rest % qblocks;
  let kvh = bk % prm.hkv;
  bb = bk / prm.hkv;
  let last = min(blk * WG + WG - 1u, items - 1u);
  var nk = prm.p + prm.s;  // the workgroup's key bound (that of its last item)
  if (prm.causal != 0u) { nk = prm.p + prm.s - prm.tn + last / group + 1u; }
  let k_lo = sp * prm.chunk;
  let k_hi = min(nk, k_lo + prm.chunk);

  let it = blk * WG + lid;
  has_item = it < items;
  let itc = min(it, items - 1u);
  tt = itc / group;
  hh = kvh * group + itc % group;
  row = (bb * prm.tn + tt) * prm.hq + hh;
  var lim = prm.p + prm.s;
  if (prm.causal != 0u) { lim = prm.p + prm.s - prm.tn + tt + 1u; }
  var qv: array<vec4<f32>, D4>;
  for (var i = 0u; i < D4; i++) {
    qv[i] = q[row * D4 + i] * prm.scale;
    acc[i] = vec4<f32>(0.0);
  }
  m = NEG;
  l = 0.0;
  for (var j0 = k_lo; j0 < k_hi; j0 += TK) {
    load_tile(j0, nk, kvh, lid);
    workgroupBarrier();
    if (has_item) { consume(j0, lim, &qv); }
    workgroupBarrier();
  }
  return has_item;
}

//#include "common/attention_pos.wgsl"

@compute @workgroup_size(WG)
fn main_plain(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  if (!attend(wid, nwg, lid)) { return; }
  let r = 1.0 / l;
  for (var i = 0u; i < D4; i++) { out_plain[row * D4 + i] = acc[i] * r; }
}

@compute @workgroup_size(WG)
fn main_tap(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  if (!attend(wid, nwg, lid)) { return; }
  let r = 1.0 / l;
  for (var i = 0u; i < D4; i++) { out_tap[row * D4 + i] = acc[i] * r; }
  for (var k = 0u; k < prm.npos; k++) {
    if (tap_pos_at(k) == tt) {
      let tb = (((bb * prm.npos + k) * prm.layers + prm.layer) * prm.hq + hh) * D4;
      for (var i = 0u; i < D4; i++) { tap[tb + i] = acc[i] * r; }
    }
  }
}

@compute @workgroup_size(WG)
fn main_patch(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  if (!attend(wid, nwg, lid)) { return; }
  if (patch_hit(bb, tt, hh)) {
    let vb = (prm.layer * prm.hq + hh) * D4;
    for (var i = 0u; i < D4; i++) { out_patch[row * D4 + i] = values[vb + i]; }
  } else {
    let r = 1.0 / l;
    for (var i = 0u; i < D4; i++) { out_patch[row * D4 + i] = acc[i] * r; }
  }
}

@compute @workgroup_size(WG)
fn main_partial(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  if (!attend(wid, nwg, lid)) { return; }
  let pr = split * prm.b * prm.tn * prm.hq + row;
  ml[pr] = vec2<f32>(m, l);
  for (var i = 0u; i < D4; i++) { part[pr * D4 + i] = acc[i]; }
}
