// Attention backward, part 1: dq and Delta, one invocation per query (b, i, h).
// P_ij = exp(scale q_i·k_j - lse_i) (the forward's softmax, recomputed from its saved lse),
// dP_ij = dO_i·v_j, Delta_i = dO_i·O_i (= sum_j P_ij dP_ij), dS_ij = P_ij (dP_ij - Delta_i),
// dq_i = scale sum_j dS_ij k_j. Delta is written for part 2 (attention_dkdv.wgsl).
// Layout, GQA and causal rules as in attention_fwd.wgsl; D4 is rewritten by the host.
const D4: u32 = 4u;
override WG: u32 = 64u;

struct Params { n: u32, t_len: u32, heads: u32, kv_heads: u32, causal: u32, scale: f32, _a: u32, _b: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> q: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> k: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> v: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read> o: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read> dout: array<vec4<f32>>;
@group(0) @binding(6) var<storage, read> lse: array<f32>;
@group(0) @binding(7) var<storage, read_write> dq: array<vec4<f32>>;
@group(0) @binding(8) var<storage, read_write> delta: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let idx = gid.x + gid.y * nwg.x * WG;
  if (idx >= p.n) { return; }
  let h = idx % p.heads;
  let bt = idx / p.heads;
  let i = bt % p.t_len;
  let b0 = bt - i;
  let kvh = h / (p.heads / p.kv_heads);
  var qv: array<vec4<f32>, D4>;
  var gv: array<vec4<f32>, D4>;
  var acc: array<vec4<f32>, D4>;
  var dl = 0.0;
  for (var d = 0u; d < D4; d++) {
    qv[d] = q[idx * D4 + d] * p.scale;
    gv[d] = dout[idx * D4 + d];
    dl += dot(gv[d], o[idx * D4 + d]);
    acc[d] = vec4<f32>(0.0);
  }
  let l = lse[idx];
  let nk = select(p.t_len, i + 1u, p.causal != 0u);
  for (var j = 0u; j < nk; j++) {
    let ko = ((b0 + j) * p.kv_heads + kvh) * D4;
    var s = 0.0;
    var dp = 0.0;
    for (var d = 0u; d < D4; d++) {
      s += dot(qv[d], k[ko + d]);
      dp += dot(gv[d], v[ko + d]);
    }
    let ds = exp(s - l) * (dp - dl);
    for (var d = 0u; d < D4; d++) { acc[d] += ds * k[ko + d]; }
  }
  for (var d = 0u; d < D4; d++) { dq[idx * D4 + d] = acc[d] * p.scale; }
  delta[idx] = dl;
}
