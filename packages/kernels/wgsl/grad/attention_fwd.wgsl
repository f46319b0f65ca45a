// Training attention forward: out = softmax(scale q kᵀ) v with the log-sum-exp of each row saved
// for the backward. q/out [B, T, H, D], k/v [B, T, Hkv, D], lse [B, T, H]; GQA: query head h
// reads kv head h / (H / Hkv); causal: query i sees keys j <= i. One invocation per (b, i, h),
// online softmax (running max m, running sum l, rescaled accumulator), vec4 over D.
// D4 = D / 4 is a const the host rewrites (ops/grad/attention.ts): it sizes private arrays,
// which WGSL only allows for const expressions.
const D4: u32 = 4u;
override WG: u32 = 64u;

struct Params { n: u32, t_len: u32, heads: u32, kv_heads: u32, causal: u32, scale: f32, _a: u32, _b: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> q: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> k: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> v: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read_write> out: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read_write> lse: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let idx = gid.x + gid.y * nwg.x * WG;
  if (idx >= p.n) { return; }
  let h = idx % p.heads;
  let bt = idx / p.heads;
  let i = bt % p.t_len;
  let b0 = bt - i;  // b * T
  let kvh = h / (p.heads / p.kv_heads);
  var qv: array<vec4<f32>, D4>;
  var acc: array<vec4<f32>, D4>;
  for (var d = 0u; d < D4; d++) {
    qv[d] = q[idx * D4 + d] * p.scale;
    acc[d] = vec4<f32>(0.0);
  }
  var m = -3.0e38;
  var l = 0.0;
  let nk = select(p.t_len, i + 1u, p.causal != 0u);
  for (var j = 0u; j < nk; j++) {
    let ko = ((b0 + j) * p.kv_heads + kvh) * D4;
    var s = 0.0;
    for (var d = 0u; d < D4; d++) { s += dot(qv[d], k[ko + d]); }
    if (s > m) {
      let corr = exp(m - s);
      l *= corr;
      for (var d = 0u; d < D4; d++) { acc[d] *= corr; }
      m = s;
    }
    let w = exp(s - m);
    l += w;
    for (var d = 0u; d < D4; d++) { acc[d] += w * v[ko + d]; }
  }
  let inv = 1.0 / l;
  for (var d = 0u; d < D4; d++) { out[idx * D4 + d] = acc[d] * inv; }
  lse[idx] = m + log(l);
}
