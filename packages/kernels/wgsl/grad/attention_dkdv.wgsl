// Attention backward, part 2: dk and dv, one invocation per (b, key j, query head h), looping
// over the queries that see key j (i >= j when causal), so nothing is accumulated across
// invocations and no atomics are needed:
//   dv_j += P_ij dO_i,   dk_j += scale dS_ij q_i,   dS_ij = P_ij (dO_i·v_j - Delta_i)
// Output is per query head [B, T, H, D]; with GQA the host sums each kv head's group of query
// heads afterwards (head_group_sum.wgsl). D4 is rewritten by the host.
const D4: u32 = 4u;
override WG: u32 = 64u;

struct Params { n: u32, t_len: u32, heads: u32, kv_heads: u32, causal: u32, scale: f32, _a: u32, _b: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> q: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> k: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> v: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read> dout: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read> lse: array<f32>;
@group(0) @binding(6) var<storage, read> delta: array<f32>;
@group(0) @binding(7) var<storage, read_write> dk: array<vec4<f32>>;
@group(0) @binding(8) var<storage, read_write> dv: array<vec4<f32>>;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let idx = gid.x + gid.y * nwg.x * WG;  // (b, j, h) of the output [B, T, H, D]
  if (idx >= p.n) { return; }
  let h = idx % p.heads;
  let bt = idx / p.heads;
  let j = bt % p.t_len;
  let b0 = bt - j;
  let kvh = h / (p.heads / p.kv_heads);
  let ko = (bt * p.kv_heads + kvh) * D4;
  var kv: array<vec4<f32>, D4>;
  var vv: array<vec4<f32>, D4>;
  var ak: array<vec4<f32>, D4>;
  var av: array<vec4<f32>, D4>;
  for (var d = 0u; d < D4; d++) {
    kv[d] = k[ko + d] * p.scale;
    vv[d] = v[ko + d];
    ak[d] = vec4<f32>(0.0);
    av[d] = vec4<f32>(0.0);
  }
  let i0 = select(0u, j, p.causal != 0u);
  for (var i = i0; i < p.t_len; i++) {
    let row = (b0 + i) * p.heads + h;
    let qo = row * D4;
    var s = 0.0;
    var dp = 0.0;
    for (var d = 0u; d < D4; d++) {
      s += dot(q[qo + d], kv[d]);
      dp += dot(dout[qo + d], vv[d]);
    }
    let pr = exp(s - lse[row]);
    let ds = pr * (dp - delta[row]);
    for (var d = 0u; d < D4; d++) {
      av[d] += pr * dout[qo + d];
      ak[d] += ds * q[qo + d];
    }
  }
  for (var d = 0u; d < D4; d++) {
    dk[idx * D4 + d] = ak[d] * p.scale;
    dv[idx * D4 + d] = av[d];
  }
}
