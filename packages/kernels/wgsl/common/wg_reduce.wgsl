// Workgroup tree reductions over WG invocations (WG a power of two, the includer's override).
// Each reduction has its own array: Mesa llvmpipe was seen to move the final load of sh[0] past
// the barrier that follows it, so a second reduction reusing one array let some invocations read
// the other's partials. With separate arrays nothing overwrites a result. A kernel uses each
// function at most once per pass; arrays a kernel does not touch take no workgroup memory.

var<workgroup> sh_max: array<f32, WG>;
var<workgroup> sh_sum: array<f32, WG>;
var<workgroup> sh_sum_b: array<f32, WG>;

fn reduce_max(v: f32, lid: u32) -> f32 {
  sh_max[lid] = v;
  workgroupBarrier();
  for (var k = WG / 2u; k > 0u; k = k >> 1u) {
    if (lid < k) { sh_max[lid] = max(sh_max[lid], sh_max[lid + k]); }
    workgroupBarrier();
  }
  return sh_max[0];
}

fn reduce_sum(v: f32, lid: u32) -> f32 {
  sh_sum[lid] = v;
  workgroupBarrier();
  for (var k = WG / 2u; k > 0u; k = k >> 1u) {
    if (lid < k) { sh_sum[lid] = sh_sum[lid] + sh_sum[lid + k]; }
    workgroupBarrier();
  }
  return sh_sum[0];
}

// a second sum, for kernels that reduce twice (layernorm: mean, then variance)
fn reduce_sum_b(v: f32, lid: u32) -> f32 {
  sh_sum_b[lid] = v;
  workgroupBarrier();
  for (var k = WG / 2u; k > 0u; k = k >> 1u) {
    if (lid < k) { sh_sum_b[lid] = sh_sum_b[lid] + sh_sum_b[lid + k]; }
    workgroupBarrier();
  }
  return sh_sum_b[0];
}
