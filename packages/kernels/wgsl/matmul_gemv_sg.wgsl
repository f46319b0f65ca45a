// Entry point of matmul_gemv.wgsl with subgroups (the host prepends `enable subgroups;`): each
// subgroup sums its partials with subgroupAdd, so only one slot per subgroup is non-zero and one
// barrier replaces the 6-step tree. WGSL does not say how invocations map to subgroups, so each
// subgroup's first lane writes its total at its own index and the others write zero; invocation 0
// then sums the WG slots (in index order, so the result is deterministic).
@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) t: u32, @builtin(workgroup_id) wid: vec3<u32>,
        @builtin(subgroup_invocation_id) lane: u32) {
  let col0 = wid.x * COLS;
  let s = subgroupAdd(partial4(t, wid.y, col0));
  part[t] = select(vec4<f32>(0.0), s, lane == 0u);
  workgroupBarrier();
  if (t == 0u) {
    var v = vec4<f32>(0.0);
    for (var i = 0u; i < WG; i++) { v += part[i]; }
    store4(wid.y, col0, v);
  }
}
