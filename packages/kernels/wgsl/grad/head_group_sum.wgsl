// GQA: y[bt, g, :] = sum over the group's query heads of x[bt, g * G + e, :], e < G, for
// x [BT, H, D] -> y [BT, H / G, D] (dk / dv per kv head from per-query-head partials).
override WG: u32 = 256u;

struct Params { n: u32, group: u32, d4: u32, _a: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> y: array<vec4<f32>>;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;  // vec4 index into y
  if (i >= p.n) { return; }
  let d = i % p.d4;
  let row = i / p.d4;  // (bt, kv head)
  var s = vec4<f32>(0.0);
  for (var e = 0u; e < p.group; e++) { s += x[(row * p.group + e) * p.d4 + d]; }
  y[i] = s;
}
