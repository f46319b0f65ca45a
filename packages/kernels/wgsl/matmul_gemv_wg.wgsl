// Entry point of matmul_gemv.wgsl without subgroups: the 64 partial sums are reduced by a
// workgroup-memory tree (6 barrier-separated halvings).
@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) t: u32, @builtin(workgroup_id) wid: vec3<u32>) {
  let col0 = wid.x * COLS;
  part[t] = partial4(t, wid.y, col0);
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (t < s) { part[t] += part[t + s]; }
    workgroupBarrier();
  }
  if (t == 0u) { store4(wid.y, col0, part[0]); }
}
