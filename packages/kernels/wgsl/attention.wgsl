// Scaled dot-product attention over a shared prefix cache plus a per-row suffix cache, with
// head-tap and head-patch epilogues (DESIGN.md section 5). One invocation per (b, t, h):
// q and the output accumulator live in vec4 registers, keys are streamed four at a time with an
// online softmax (running max m and sum l), so any sequence length works and no workgroup memory
// or barrier is needed (both are slow on llvmpipe, DESIGN.md section 4).
//
//   q      [B, Tn, Hq, D]        kPre, vPre [P, Hkv, D]        kSuf, vSuf [B, Smax, Hkv, D]
//   out    [B, Tn, Hq, D]        (the input of o_proj)
// Query t of row b sits at suffix position S-Tn+t. Causal: it sees all P prefix keys and suffix
// keys 0..S-Tn+t. Bidirectional: all P+S keys. Query head h reads kv head h / (Hq/Hkv).
//
// Entry points (separate pipelines, so the plain pass pays nothing for tap or patch):
//   main_plain  writes out.
//   main_tap    also copies o[b,t,h,:] for t = positions[k] into tap[b, k, layer, h, :]
//               (tap: [B, nPos, L, Hq, D]).
//   main_patch  for t = positions[k] with mask[b, layer, h] != 0 writes values[layer, h, :]
//               instead of computing o (mask: [B, L, Hq] u32, values: [L, Hq, D]).
// Positions come from the uniform block (POS_BUF = 0, at most 32) or a u32 buffer (POS_BUF = 1).
override WG: u32 = 64u;
override D4: u32 = 16u;      // head_dim / 4
override POS_BUF: u32 = 0u;
const MAX_D4: u32 = 64u;     // head_dim <= 256
const NEG: f32 = -3.0e38;    // a "minus infinity" that keeps exp() and subtraction finite

struct Params {
  n: u32,          // B * Tn * Hq invocations
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

@group(0) @binding(0) var<uniform> prm: Params;
@group(0) @binding(1) var<storage, read> q: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> k_pre: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> v_pre: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read> k_suf: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read> v_suf: array<vec4<f32>>;
// plain
@group(0) @binding(6) var<storage, read_write> out_plain: array<vec4<f32>>;
// tap
@group(0) @binding(6) var<storage, read> tap_pos: array<u32>;
@group(0) @binding(7) var<storage, read_write> out_tap: array<vec4<f32>>;
@group(0) @binding(8) var<storage, read_write> tap: array<vec4<f32>>;
// patch
@group(0) @binding(6) var<storage, read> patch_pos: array<u32>;
@group(0) @binding(7) var<storage, read> mask: array<u32>;
@group(0) @binding(8) var<storage, read> values: array<vec4<f32>>;
@group(0) @binding(9) var<storage, read_write> out_patch: array<vec4<f32>>;

var<private> qv: array<vec4<f32>, MAX_D4>;
var<private> acc: array<vec4<f32>, MAX_D4>;
var<private> m: f32;
var<private> l: f32;
var<private> corr: f32;

struct Idx { b: u32, t: u32, h: u32, row: u32 }  // row = flat (b, t, h) index

fn index_of(gid: vec3<u32>, nwg: vec3<u32>) -> Idx {
  let i = gid.x + gid.y * nwg.x * WG;
  let h = i % prm.hq;
  let bt = i / prm.hq;
  return Idx(bt / prm.tn, bt % prm.tn, h, i);
}

fn uniform_pos(k: u32) -> u32 {
  return prm.pos[k / 4u][k % 4u];
}

// Folds four scores into the running max / sum; returns their weights and sets corr, the factor
// by which the accumulator must be rescaled.
fn online(s: vec4<f32>) -> vec4<f32> {
  let mn = max(m, max(max(s.x, s.y), max(s.z, s.w)));
  corr = exp(m - mn);
  let w = exp(s - vec4<f32>(mn));
  l = l * corr + (w.x + w.y) + (w.z + w.w);
  m = mn;
  return w;
}

// The attention output for (b, t, h), left normalised in acc.
fn attend(ix: Idx) {
  let kvh = ix.h / (prm.hq / prm.hkv);
  let qb = ix.row * D4;
  for (var i = 0u; i < D4; i++) {
    qv[i] = q[qb + i] * prm.scale;
    acc[i] = vec4<f32>(0.0);
  }
  m = NEG;
  l = 0.0;
  let stride = prm.hkv * D4;  // vec4s between consecutive keys

  // shared prefix: keys 0..P-1; the tail chunk re-reads the last key and masks its score
  let np = prm.p;
  for (var j = 0u; j < np; j += 4u) {
    let last = np - 1u;
    let o0 = j * stride + kvh * D4;
    let o1 = min(j + 1u, last) * stride + kvh * D4;
    let o2 = min(j + 2u, last) * stride + kvh * D4;
    let o3 = min(j + 3u, last) * stride + kvh * D4;
    var s = vec4<f32>(0.0);
    for (var i = 0u; i < D4; i++) {
      let a = qv[i];
      s += vec4<f32>(dot(a, k_pre[o0 + i]), dot(a, k_pre[o1 + i]), dot(a, k_pre[o2 + i]), dot(a, k_pre[o3 + i]));
    }
    s = select(s, vec4<f32>(NEG), vec4<u32>(j, j + 1u, j + 2u, j + 3u) > vec4<u32>(last));
    let w = online(s);
    for (var i = 0u; i < D4; i++) {
      acc[i] = acc[i] * corr + w.x * v_pre[o0 + i] + w.y * v_pre[o1 + i] + w.z * v_pre[o2 + i] + w.w * v_pre[o3 + i];
    }
  }

  // this row's suffix: keys 0..ns-1
  var ns = prm.s;
  if (prm.causal != 0u) { ns = prm.s - prm.tn + ix.t + 1u; }
  let sb = ix.b * prm.smax * stride + kvh * D4;
  for (var j = 0u; j < ns; j += 4u) {
    let last = ns - 1u;
    let o0 = sb + j * stride;
    let o1 = sb + min(j + 1u, last) * stride;
    let o2 = sb + min(j + 2u, last) * stride;
    let o3 = sb + min(j + 3u, last) * stride;
    var s = vec4<f32>(0.0);
    for (var i = 0u; i < D4; i++) {
      let a = qv[i];
      s += vec4<f32>(dot(a, k_suf[o0 + i]), dot(a, k_suf[o1 + i]), dot(a, k_suf[o2 + i]), dot(a, k_suf[o3 + i]));
    }
    s = select(s, vec4<f32>(NEG), vec4<u32>(j, j + 1u, j + 2u, j + 3u) > vec4<u32>(last));
    let w = online(s);
    for (var i = 0u; i < D4; i++) {
      acc[i] = acc[i] * corr + w.x * v_suf[o0 + i] + w.y * v_suf[o1 + i] + w.z * v_suf[o2 + i] + w.w * v_suf[o3 + i];
    }
  }

  let inv = 1.0 / l;
  for (var i = 0u; i < D4; i++) { acc[i] = acc[i] * inv; }
}

@compute @workgroup_size(WG)
fn main_plain(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let ix = index_of(gid, nwg);
  if (ix.row >= prm.n) { return; }
  attend(ix);
  let ob = ix.row * D4;
  for (var i = 0u; i < D4; i++) { out_plain[ob + i] = acc[i]; }
}

@compute @workgroup_size(WG)
fn main_tap(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let ix = index_of(gid, nwg);
  if (ix.row >= prm.n) { return; }
  attend(ix);
  let ob = ix.row * D4;
  for (var i = 0u; i < D4; i++) { out_tap[ob + i] = acc[i]; }
  for (var k = 0u; k < prm.npos; k++) {
    var pk: u32;
    if (POS_BUF != 0u) { pk = tap_pos[k]; } else { pk = uniform_pos(k); }
    if (pk == ix.t) {
      let tb = (((ix.b * prm.npos + k) * prm.layers + prm.layer) * prm.hq + ix.h) * D4;
      for (var i = 0u; i < D4; i++) { tap[tb + i] = acc[i]; }
    }
  }
}

@compute @workgroup_size(WG)
fn main_patch(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let ix = index_of(gid, nwg);
  if (ix.row >= prm.n) { return; }
  let ob = ix.row * D4;
  var hit = false;
  for (var k = 0u; k < prm.npos; k++) {
    var pk: u32;
    if (POS_BUF != 0u) { pk = patch_pos[k]; } else { pk = uniform_pos(k); }
    hit = hit || (pk == ix.t);
  }
  if (hit && mask[(ix.b * prm.layers + prm.layer) * prm.hq + ix.h] != 0u) {
    // a patched head: its computed output would be discarded, so skip the attention entirely
    let vb = (prm.layer * prm.hq + ix.h) * D4;
    for (var i = 0u; i < D4; i++) { out_patch[ob + i] = values[vb + i]; }
    return;
  }
  attend(ix);
  for (var i = 0u; i < D4; i++) { out_patch[ob + i] = acc[i]; }
}
