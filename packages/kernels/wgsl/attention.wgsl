// Scaled dot-product attention over a shared prefix cache plus a per-row suffix cache, with
// head-tap and head-patch epilogues (DESIGN.md section 5).
//
//   q      [B, Tn, Hq, D]        kPre, vPre [P, Hkv, D]        kSuf, vSuf [B, Smax, Hkv, D]
//   out    [B, Tn, Hq, D]        (the input of o_proj)
// Query t of row b sits at suffix position S-Tn+t. Causal: it sees all P prefix keys and suffix
// keys 0..S-Tn+t. Bidirectional: all P+S keys. Query head h reads kv head h / (Hq/Hkv).
//
// Work split: the (t, g) pairs that share one kv head of one row (g = head within the GQA group)
// are "items"; each invocation takes QB consecutive items, so every K/V vec4 it loads serves QB
// queries. Keys stream four at a time through an online softmax (running max m, sum l): any
// sequence length works, and no workgroup memory or barrier is used (both slow on llvmpipe,
// DESIGN.md section 4). Within an invocation the causal key bound is that of its last item; the
// extra keys are masked per item.
//
// This file is a TEMPLATE: ops/attention.ts expands every `//#each q` block QB times and every
// `//#each i` block D4 = D/4 times (replacing $q, $i, $QB, $D4), so q and the accumulators are
// named registers. llvmpipe turns dynamically indexed private arrays into per-lane memory
// operations; the unrolled form measured 1.6x faster, and QB = 8 another 1.7x over QB = 4.
//
// Entry points (separate pipelines, so the plain pass pays nothing for tap or patch):
//   main_plain  writes out.
//   main_tap    also copies o[b,t,h,:] for t = positions[k] into tap[b, k, layer, h, :]
//               (tap: [B, nPos, L, Hq, D]).
//   main_patch  for t = positions[k] with mask[b, layer, h] != 0 writes values[layer, h, :]
//               instead of the computed o (mask: [B, L, Hq] u32, values: [L, Hq, D]).
// Positions come from the uniform block (POS_BUF = 0, at most 32) or a u32 buffer (POS_BUF = 1).
override WG: u32 = 64u;
override POS_BUF: u32 = 0u;
const D4: u32 = $D4u;        // head_dim / 4
const QB: u32 = $QBu;        // items per invocation
const NEG: f32 = -3.0e38;    // a "minus infinity" that keeps exp() and subtraction finite

struct Params {
  b: u32,
  tn: u32,
  hq: u32,
  hkv: u32,
  p: u32,          // prefix length
  s: u32,          // valid suffix length (includes the Tn new tokens)
  smax: u32,
  causal: u32,
  scale: f32,
  npos: u32,
  layer: u32,
  layers: u32,
  pos: array<vec4<u32>, 8>,  // up to 32 positions when POS_BUF = 0
}

//#include "common/attention_bindings.wgsl"

var<private> bb: u32;  // batch row of this invocation
//#each q
var<private> ok$q: bool;   // item $q exists (the last invocation may have fewer than QB)
var<private> t$q: u32;
var<private> h$q: u32;
var<private> row$q: u32;   // flat (b, t, h) index
var<private> l$q: f32;
//#each i
var<private> acc$q_$i: vec4<f32>;
//#end
//#end

fn invocation(gid: vec3<u32>, nwg: vec3<u32>) -> u32 {
  return gid.x + gid.y * nwg.x * WG;
}

// Runs the attention of this invocation's items into acc (unnormalised) and l; false if idle.
fn attend(inv: u32) -> bool {
  let group = prm.hq / prm.hkv;
  let items = prm.tn * group;
  let per = (items + QB - 1u) / QB;  // invocations per (row, kv head)
  let bk = inv / per;
  if (bk >= prm.b * prm.hkv) { return false; }
  let blk = inv % per;
  let kvh = bk % prm.hkv;
  bb = bk / prm.hkv;
  var nsmax = 0u;
//#each q
  let it$q = min(blk * QB + $qu, items - 1u);
  ok$q = blk * QB + $qu < items;
  t$q = it$q / group;
  h$q = kvh * group + it$q % group;
  row$q = (bb * prm.tn + t$q) * prm.hq + h$q;
  var lim$q = prm.s;
  if (prm.causal != 0u) { lim$q = prm.s - prm.tn + t$q + 1u; }
  nsmax = max(nsmax, lim$q);
  var m$q = NEG;
  l$q = 0.0;
//#each i
  let q$q_$i = q[row$q * D4 + $iu] * prm.scale;
  acc$q_$i = vec4<f32>(0.0);
//#end
//#end
  let stride = prm.hkv * D4;  // vec4s between consecutive keys

  // shared prefix: keys 0..P-1, all visible; the tail chunk re-reads the last key, masked
  let pb = kvh * D4;
  for (var j = 0u; j < prm.p; j += 4u) {
    let last = prm.p - 1u;
    let o0 = pb + j * stride;
    let o1 = pb + min(j + 1u, last) * stride;
    let o2 = pb + min(j + 2u, last) * stride;
    let o3 = pb + min(j + 3u, last) * stride;
//#each q
    var s$q = vec4<f32>(0.0);
//#end
//#each i
    {
      let k0 = k_pre[o0 + $iu];
      let k1 = k_pre[o1 + $iu];
      let k2 = k_pre[o2 + $iu];
      let k3 = k_pre[o3 + $iu];
//#each q
      s$q += vec4<f32>(dot(q$q_$i, k0), dot(q$q_$i, k1), dot(q$q_$i, k2), dot(q$q_$i, k3));
//#end
    }
//#end
    let jj = vec4<u32>(j, j + 1u, j + 2u, j + 3u);
//#each q
    s$q = select(s$q, vec4<f32>(NEG), jj > vec4<u32>(last));
    let mn$q = max(m$q, max(max(s$q.x, s$q.y), max(s$q.z, s$q.w)));
    let c$q = exp(m$q - mn$q);
    let w$q = exp(s$q - vec4<f32>(mn$q));
    l$q = l$q * c$q + (w$q.x + w$q.y) + (w$q.z + w$q.w);
    m$q = mn$q;
//#end
//#each i
    {
      let v0 = v_pre[o0 + $iu];
      let v1 = v_pre[o1 + $iu];
      let v2 = v_pre[o2 + $iu];
      let v3 = v_pre[o3 + $iu];
//#each q
      acc$q_$i = acc$q_$i * c$q + w$q.x * v0 + w$q.y * v1 + w$q.z * v2 + w$q.w * v3;
//#end
    }
//#end
  }

  // this row's suffix: keys 0..nsmax-1; item $q sees keys below lim$q
  let sb = bb * prm.smax * stride + kvh * D4;
  for (var j = 0u; j < nsmax; j += 4u) {
    let last = nsmax - 1u;
    let o0 = sb + j * stride;
    let o1 = sb + min(j + 1u, last) * stride;
    let o2 = sb + min(j + 2u, last) * stride;
    let o3 = sb + min(j + 3u, last) * stride;
//#each q
    var s$q = vec4<f32>(0.0);
//#end
//#each i
    {
      let k0 = k_suf[o0 + $iu];
      let k1 = k_suf[o1 + $iu];
      let k2 = k_suf[o2 + $iu];
      let k3 = k_suf[o3 + $iu];
//#each q
      s$q += vec4<f32>(dot(q$q_$i, k0), dot(q$q_$i, k1), dot(q$q_$i, k2), dot(q$q_$i, k3));
//#end
    }
//#end
    let jj = vec4<u32>(j, j + 1u, j + 2u, j + 3u);
//#each q
    // lim <= nsmax, so this also masks the re-read keys of the tail chunk
    s$q = select(s$q, vec4<f32>(NEG), jj >= vec4<u32>(lim$q));
    let mn$q = max(m$q, max(max(s$q.x, s$q.y), max(s$q.z, s$q.w)));
    let c$q = exp(m$q - mn$q);
    let w$q = exp(s$q - vec4<f32>(mn$q));
    l$q = l$q * c$q + (w$q.x + w$q.y) + (w$q.z + w$q.w);
    m$q = mn$q;
//#end
//#each i
    {
      let v0 = v_suf[o0 + $iu];
      let v1 = v_suf[o1 + $iu];
      let v2 = v_suf[o2 + $iu];
      let v3 = v_suf[o3 + $iu];
//#each q
      acc$q_$i = acc$q_$i * c$q + w$q.x * v0 + w$q.y * v1 + w$q.z * v2 + w$q.w * v3;
//#end
    }
//#end
  }
  return true;
}

//#include "common/attention_pos.wgsl"

@compute @workgroup_size(WG)
fn main_plain(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  if (!attend(invocation(gid, nwg))) { return; }
//#each q
  if (ok$q) {
    let r = 1.0 / l$q;
//#each i
    out_plain[row$q * D4 + $iu] = acc$q_$i * r;
//#end
  }
//#end
}

@compute @workgroup_size(WG)
fn main_tap(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  if (!attend(invocation(gid, nwg))) { return; }
//#each q
  if (ok$q) {
    let r = 1.0 / l$q;
//#each i
    out_tap[row$q * D4 + $iu] = acc$q_$i * r;
//#end
    for (var k = 0u; k < prm.npos; k++) {
      if (tap_pos_at(k) == t$q) {
        let tb = (((bb * prm.npos + k) * prm.layers + prm.layer) * prm.hq + h$q) * D4;
//#each i
        tap[tb + $iu] = acc$q_$i * r;
//#end
      }
    }
  }
//#end
}

@compute @workgroup_size(WG)
fn main_patch(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  if (!attend(invocation(gid, nwg))) { return; }
//#each q
  if (ok$q) {
    var hit = false;
    for (var k = 0u; k < prm.npos; k++) { hit = hit || (patch_pos_at(k) == t$q); }
    if (hit && mask[(bb * prm.layers + prm.layer) * prm.hq + h$q] != 0u) {
      let vb = (prm.layer * prm.hq + h$q) * D4;
//#each i
      out_patch[row$q * D4 + $iu] = values[vb + $iu];
//#end
    } else {
      let r = 1.0 / l$q;
//#each i
      out_patch[row$q * D4 + $iu] = acc$q_$i * r;
//#end
    }
  }
//#end
}
