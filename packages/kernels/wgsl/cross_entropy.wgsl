// Cross-entropy of selected rows of a logits tensor [M, n], one loss per k:
//   r = rows[k], t = targets[k],  loss[k] = logsumexp(logits[r, :]) - logits[r, t]
// with logsumexp max-subtracted (m + log(sum exp(x - m))) and the sum blocked (64 terms per
// partial). The logits may be split into row chunks (over the binding limit): each dispatch
// sees rows [r0, r0 + count) and scores only the k whose row falls in it.
// Indices from the GPU are not checked on the host: a row outside [0, m_rows) (reported by the
// first chunk) or a target outside [0, n) yields a NaN loss.
// Entry points as in softmax.wgsl: main_row (one invocation per k), main_wg (a workgroup per k).
override WG: u32 = 64u;

struct Params { k: u32, n: u32, r0: u32, count: u32, m_rows: u32, first: u32, nan_bits: u32, _a: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> rows: array<i32>;
@group(0) @binding(3) var<storage, read> targets: array<i32>;
@group(0) @binding(4) var<storage, read_write> loss: array<f32>;

const BLOCK: u32 = 64u;

//#include "common/row_logsumexp.wgsl"
//#include "common/wg_reduce.wgsl"

fn in_chunk(r: i32) -> bool {
  return r >= i32(p.r0) && r < i32(p.r0 + p.count);
}

// NaN for a row outside the whole tensor, written once (by the first chunk)
fn mark_bad_row(k: u32, r: i32) {
  if (p.first == 1u && (r < 0 || r >= i32(p.m_rows))) { loss[k] = bitcast<f32>(p.nan_bits); }
}

fn finish(k: u32, base: u32, m: f32, s: f32) {
  let t = targets[k];
  if (t < 0 || t >= i32(p.n)) {
    loss[k] = bitcast<f32>(p.nan_bits);
  } else {
    loss[k] = (m + log(s)) - x[base + u32(t)];
  }
}

@compute @workgroup_size(WG)
fn main_row(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let k = gid.x + gid.y * nwg.x * WG;
  if (k >= p.k) { return; }
  let r = rows[k];
  if (!in_chunk(r)) {
    mark_bad_row(k, r);
    return;
  }
  let base = u32(r - i32(p.r0)) * p.n;
  let m = row_max(base, 0u, 1u, p.n);
  let s = row_sum_exp(base, 0u, 1u, p.n, m);
  finish(k, base, m, s);
}

@compute @workgroup_size(WG)
fn main_wg(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32, @builtin(num_workgroups) nwg: vec3<u32>) {
  let k = wid.x + wid.y * nwg.x;
  if (k >= p.k) { return; }
  let r = rows[k];
  let live = in_chunk(r);
  // no early return on `live` (read from storage, so not uniform): barriers follow
  let len = select(0u, p.n, live);
  let base = select(0u, u32(r - i32(p.r0)) * p.n, live);
  let m = reduce_max(row_max(base, lid, WG, len), lid);
  let s = reduce_sum(row_sum_exp(base, lid, WG, len, m), lid);
  if (lid == 0u) {
    if (live) { finish(k, base, m, s); } else { mark_bad_row(k, r); }
  }
}
