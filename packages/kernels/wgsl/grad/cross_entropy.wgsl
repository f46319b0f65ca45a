// Fused softmax cross-entropy forward + backward for training, one invocation per row of
// logits [M, V] (serial, 3 sweeps): with target t (-1 = ignored row),
//   loss[m] = logsumexp(row) - row[t]                      (0 when ignored)
//   dlogits[m, j] = (softmax(row)[j] - [j == t]) * inv_norm  (0 when ignored)
// inv_norm = 1 / (number of scored rows) by default: dlogits is the gradient of the mean loss.
override WG: u32 = 64u;

struct Params { rows: u32, v: u32, inv_norm: f32, _a: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;  // the logits
@group(0) @binding(2) var<storage, read> targets: array<i32>;
@group(0) @binding(3) var<storage, read_write> loss: array<f32>;
@group(0) @binding(4) var<storage, read_write> dlogits: array<f32>;

const BLOCK: u32 = 64u;

//#include "common/row_logsumexp.wgsl"

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let r = gid.x + gid.y * nwg.x * WG;
  if (r >= p.rows) { return; }
  let base = r * p.v;
  let t = targets[r];
  if (t < 0) {
    loss[r] = 0.0;
    for (var j = 0u; j < p.v; j++) { dlogits[base + j] = 0.0; }
    return;
  }
  let mx = row_max(base, 0u, 1u, p.v);
  let lse = mx + log(row_sum_exp(base, 0u, 1u, p.v, mx));
  loss[r] = lse - x[base + u32(t)];
  for (var j = 0u; j < p.v; j++) {
    var g = exp(x[base + j] - lse);
    if (j == u32(t)) { g -= 1.0; }
    dlogits[base + j] = g * p.inv_norm;
  }
}
