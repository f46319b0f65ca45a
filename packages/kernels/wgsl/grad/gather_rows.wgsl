// Backward of the row scatter dst[rows[i], :] = src[i, :] (image features written into the
// image tokens' embedding rows): dsrc[i, :] = ddst[rows[i], :].
override WG: u32 = 256u;

struct Params { n: u32, h: u32, _a: u32, _b: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> ddst: array<f32>;
@group(0) @binding(2) var<storage, read> rows: array<i32>;
@group(0) @binding(3) var<storage, read_write> dsrc: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= p.n) { return; }
  let c = i % p.h;
  let r = u32(rows[i / p.h]);
  dsrc[i] = ddst[r * p.h + c];
}
