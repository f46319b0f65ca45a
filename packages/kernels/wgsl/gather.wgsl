// Embedding lookup: out[k, :] = table[ids[k], :] for a table [V, h] held as f32 or packed f16
// (F16: element e in word e >> 1, low half first), output f32.
// The table may be split into row chunks (over the binding limit): each dispatch binds rows
// [r0, r0 + count) and fills only the k whose id falls in it. Ids from the GPU are not checked
// on the host: an id outside [0, vocab) gets a NaN row (written by the first chunk).
override WG: u32 = 256u;
override F16: bool = false;

struct Params { n: u32, h: u32, r0: u32, count: u32, vocab: u32, first: u32, nan_bits: u32, _a: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> table: array<u32>;
@group(0) @binding(2) var<storage, read> ids: array<i32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let e = gid.x + gid.y * nwg.x * WG;
  if (e >= p.n) { return; }
  let k = e / p.h;
  let j = e % p.h;
  let id = ids[k];
  if (id >= i32(p.r0) && id < i32(p.r0 + p.count)) {
    let idx = u32(id - i32(p.r0)) * p.h + j;
    if (F16) {
      out[e] = unpack2x16float(table[idx >> 1u])[idx & 1u];
    } else {
      out[e] = bitcast<f32>(table[idx]);
    }
  } else if (p.first == 1u && (id < 0 || id >= i32(p.vocab))) {
    out[e] = bitcast<f32>(p.nan_bits);
  }
}
