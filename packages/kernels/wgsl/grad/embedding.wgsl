// Embedding backward without float atomics: dtable[v, c] (+)= sum of dy[pos, c] over the
// positions whose id is v. The host sorts positions by id (stable) into a CSR list:
// idx[0 .. V] are the offsets, idx[V + 1 + offsets[v] ..] the positions of id v in order, so
// each sum runs in a fixed order (deterministic). One invocation per (v, c).
override ACC: bool = false;
override WG: u32 = 256u;

struct Params { n: u32, h: u32, vocab: u32, _a: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read> idx: array<i32>;
@group(0) @binding(3) var<storage, read_write> dtable: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= p.n) { return; }
  let c = i % p.h;
  let v = i / p.h;
  let start = u32(idx[v]);
  let end = u32(idx[v + 1u]);
  var s = 0.0;
  for (var e = start; e < end; e++) {
    let pos = u32(idx[p.vocab + 1u + e]);
    s += dy[pos * p.h + c];
  }
  if (ACC) { s += dtable[i]; }
  dtable[i] = s;
}
