// Row scatter, in place: dst[rows[i], :] = src[i, :] for src [m, h] into dst [n_dst, h]
// (image features into the embedding rows of image tokens). Elements are copied as raw 32-bit
// words, so f32, i32 and u32 all work. Rows from the GPU are not checked on the host: a row
// outside [0, n_dst) is skipped, and duplicate rows race (last writer unspecified).
override WG: u32 = 256u;

struct Params { n: u32, h: u32, n_dst: u32, _a: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> src: array<u32>;
@group(0) @binding(2) var<storage, read> rows: array<i32>;
@group(0) @binding(3) var<storage, read_write> dst: array<u32>;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let e = gid.x + gid.y * nwg.x * WG;
  if (e >= p.n) { return; }
  let i = e / p.h;
  let j = e % p.h;
  let r = rows[i];
  if (r >= 0 && r < i32(p.n_dst)) { dst[u32(r) * p.h + j] = src[e]; }
}
