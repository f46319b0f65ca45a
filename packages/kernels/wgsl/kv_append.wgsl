// KV-cache append: cache[b, at + t, :, :] = src[b, t, :, :] for every batch row b.
//   src [B, Tn, Hkv, D]   cache [B, Smax, Hkv, D]   (row = Hkv * D floats, f32)
// A kernel rather than buffer copies: cache rows are not 256-byte aligned, and one dispatch
// covers all B rows. One invocation per float.
override WG: u32 = 256u;

struct Params { n: u32, tn_row: u32, smax_row: u32, at_row: u32 }  // n = B*Tn*row; *_row = count * row
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read_write> cache: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= p.n) { return; }
  let b = i / p.tn_row;
  let r = i % p.tn_row;
  cache[b * p.smax_row + p.at_row + r] = src[i];
}
