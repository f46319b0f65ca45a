// WGSL of the training kernels (forward + backward + AdamW). The kernels package's backward ops were
// not there when the trainer was written, so the trainer carries its own, each a plain loop per
// invocation (register-blocked GEMM, no workgroup memory): llvmpipe runs invocations as SIMD lanes
// on CPU threads, where barriers cost more than re-reading cached memory.
//
// Layout conventions: activations are row-major [N, C] over the packed tokens of one step.

const HEADER = (fields: string): string => `struct P { ${fields} }\n@group(0) @binding(0) var<uniform> p: P;\n`;

/**
 * C[M,N] = alpha * sum_k A(m,k) B(k,n) (+ C if acc). A(m,k) = a[m*sam + k*sak], B(k,n) = b[k*sbk + n*sbn]:
 * strides give every transpose combination (y = x·Wᵀ, dX = dY·W, dW = dYᵀ·X). 4x4 outputs per invocation.
 */
export const GEMM = `${HEADER('m: u32, n: u32, k: u32, sam: u32, sak: u32, sbk: u32, sbn: u32, acc: u32, alpha: f32, _a: u32, _b: u32, _c: u32')}
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> c: array<f32>;
@compute @workgroup_size(8, 8)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let c0 = gid.x * 4u;
  let r0 = gid.y * 4u;
  if (c0 >= p.n || r0 >= p.m) { return; }
  var ar: array<u32, 4>;
  var bc: array<u32, 4>;
  for (var i = 0u; i < 4u; i++) { ar[i] = min(r0 + i, p.m - 1u) * p.sam; bc[i] = min(c0 + i, p.n - 1u) * p.sbn; }
  var acc: array<array<f32, 4>, 4>;
  for (var kk = 0u; kk < p.k; kk++) {
    let ka = kk * p.sak;
    let kb = kk * p.sbk;
    var av: array<f32, 4>;
    var bv: array<f32, 4>;
    for (var i = 0u; i < 4u; i++) { av[i] = a[ar[i] + ka]; bv[i] = b[kb + bc[i]]; }
    for (var i = 0u; i < 4u; i++) {
      for (var j = 0u; j < 4u; j++) { acc[i][j] = fma(av[i], bv[j], acc[i][j]); }
    }
  }
  for (var i = 0u; i < 4u; i++) {
    let r = r0 + i;
    if (r >= p.m) { break; }
    for (var j = 0u; j < 4u; j++) {
      let col = c0 + j;
      if (col >= p.n) { break; }
      let idx = r * p.n + col;
      var v = p.alpha * acc[i][j];
      if (p.acc == 1u) { v += c[idx]; }
      c[idx] = v;
    }
  }
}`;

const GRID = 'let i = gid.x + gid.y * nwg.x * 256u;';
const MAIN1D = '@compute @workgroup_size(256)\nfn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {';

/** x[i] += bias[i % n] in place. */
export const BIAS_ADD = `${HEADER('total: u32, n: u32, _a: u32, _b: u32')}
@group(0) @binding(1) var<storage, read> bias: array<f32>;
@group(0) @binding(2) var<storage, read_write> x: array<f32>;
${MAIN1D} ${GRID}
  if (i >= p.total) { return; }
  x[i] += bias[i % p.n];
}`;

/** db[j] (+)= sum_r dy[r, j]: the gradient of a bias, one invocation per column. */
export const COLSUM = `${HEADER('rows: u32, n: u32, acc: u32, _b: u32')}
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read_write> db: array<f32>;
${MAIN1D} ${GRID}
  if (i >= p.n) { return; }
  var s = 0.0;
  for (var r = 0u; r < p.rows; r++) { s += dy[r * p.n + i]; }
  if (p.acc == 1u) { s += db[i]; }
  db[i] = s;
}`;

/** out = a + b (same size), or a += b in place (IN_PLACE). */
export const ADD = `${HEADER('total: u32, _a: u32, _b: u32, _c: u32')}
@group(0) @binding(1) var<storage, read> b: array<f32>;
@group(0) @binding(2) var<storage, read_write> a: array<f32>;
${MAIN1D} ${GRID}
  if (i >= p.total) { return; }
  a[i] += b[i];
}`;

export const COPY_ADD = `${HEADER('total: u32, _a: u32, _b: u32, _c: u32')}
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;
${MAIN1D} ${GRID}
  if (i >= p.total) { return; }
  y[i] = a[i] + b[i];
}`;

export const FILL = `${HEADER('total: u32, value: f32, _b: u32, _c: u32')}
@group(0) @binding(1) var<storage, read_write> y: array<f32>;
${MAIN1D} ${GRID}
  if (i >= p.total) { return; }
  y[i] = p.value;
}`;

// erf by Abramowitz & Stegun 7.1.26 (|error| < 1.5e-7): the exact-GELU ("gelu") of the projector.
const ACT_FNS = `
fn erf_(x: f32) -> f32 {
  let s = sign(x);
  let a = abs(x);
  let t = 1.0 / (1.0 + 0.3275911 * a);
  let y = 1.0 - (((((1.061405429 * t - 1.453152027) * t) + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * exp(-a * a);
  return s * y;
}
fn sigm(x: f32) -> f32 { return 1.0 / (1.0 + exp(-x)); }
fn act(x: f32) -> f32 {
  if (KIND == 0u) { return x * sigm(1.702 * x); }
  return 0.5 * x * (1.0 + erf_(x * 0.7071067811865476));
}
fn dact(x: f32) -> f32 {
  if (KIND == 0u) { let s = sigm(1.702 * x); return s + 1.702 * x * s * (1.0 - s); }
  let cdf = 0.5 * (1.0 + erf_(x * 0.7071067811865476));
  return cdf + x * 0.3989422804014327 * exp(-0.5 * x * x);
}`;

/** y = act(x); KIND 0 quick_gelu, 1 gelu (erf). */
export const ACT_FWD = `${HEADER('total: u32, _a: u32, _b: u32, _c: u32')}
override KIND: u32 = 0u;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
${ACT_FNS}
${MAIN1D} ${GRID}
  if (i >= p.total) { return; }
  y[i] = act(x[i]);
}`;

/** dx = dy * act'(x). */
export const ACT_BWD = `${HEADER('total: u32, _a: u32, _b: u32, _c: u32')}
override KIND: u32 = 0u;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> dy: array<f32>;
@group(0) @binding(3) var<storage, read_write> dx: array<f32>;
${ACT_FNS}
${MAIN1D} ${GRID}
  if (i >= p.total) { return; }
  dx[i] = dy[i] * dact(x[i]);
}`;

/** y = silu(g) * u (SwiGLU). */
export const SWIGLU_FWD = `${HEADER('total: u32, _a: u32, _b: u32, _c: u32')}
@group(0) @binding(1) var<storage, read> g: array<f32>;
@group(0) @binding(2) var<storage, read> u: array<f32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;
${MAIN1D} ${GRID}
  if (i >= p.total) { return; }
  let x = g[i];
  y[i] = x / (1.0 + exp(-x)) * u[i];
}`;

/** dg = dy·u·silu'(g), du = dy·silu(g). */
export const SWIGLU_BWD = `${HEADER('total: u32, _a: u32, _b: u32, _c: u32')}
@group(0) @binding(1) var<storage, read> g: array<f32>;
@group(0) @binding(2) var<storage, read> u: array<f32>;
@group(0) @binding(3) var<storage, read> dy: array<f32>;
@group(0) @binding(4) var<storage, read_write> dg: array<f32>;
@group(0) @binding(5) var<storage, read_write> du: array<f32>;
${MAIN1D} ${GRID}
  if (i >= p.total) { return; }
  let x = g[i];
  let s = 1.0 / (1.0 + exp(-x));
  du[i] = dy[i] * x * s;
  dg[i] = dy[i] * u[i] * s * (1.0 + x * (1.0 - s));
}`;

/** RMSNorm forward, one invocation per row; also writes rstd[r]. */
export const RMS_FWD = `${HEADER('rows: u32, h: u32, eps: f32, _c: u32')}
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<f32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;
@group(0) @binding(4) var<storage, read_write> rstd: array<f32>;
${MAIN1D} ${GRID}
  if (i >= p.rows) { return; }
  let o = i * p.h;
  var ss = 0.0;
  for (var j = 0u; j < p.h; j++) { let v = x[o + j]; ss += v * v; }
  let r = inverseSqrt(ss / f32(p.h) + p.eps);
  for (var j = 0u; j < p.h; j++) { y[o + j] = x[o + j] * r * w[j]; }
  rstd[i] = r;
}`;

/** RMSNorm dx (one invocation per row): dx = r·g − x·r³·(Σ g·x)/H with g = dy·w. */
export const RMS_BWD_X = `${HEADER('rows: u32, h: u32, _b: u32, _c: u32')}
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<f32>;
@group(0) @binding(3) var<storage, read> rstd: array<f32>;
@group(0) @binding(4) var<storage, read> dy: array<f32>;
@group(0) @binding(5) var<storage, read_write> dx: array<f32>;
${MAIN1D} ${GRID}
  if (i >= p.rows) { return; }
  let o = i * p.h;
  let r = rstd[i];
  var c = 0.0;
  for (var j = 0u; j < p.h; j++) { c += dy[o + j] * w[j] * x[o + j]; }
  let k = r * r * r * c / f32(p.h);
  for (var j = 0u; j < p.h; j++) { dx[o + j] = r * dy[o + j] * w[j] - x[o + j] * k; }
}`;

/** RMSNorm dw[j] += Σ_r dy·x·rstd (one invocation per column). */
export const RMS_BWD_W = `${HEADER('rows: u32, h: u32, _b: u32, _c: u32')}
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> rstd: array<f32>;
@group(0) @binding(3) var<storage, read> dy: array<f32>;
@group(0) @binding(4) var<storage, read_write> dw: array<f32>;
${MAIN1D} ${GRID}
  if (i >= p.h) { return; }
  var s = 0.0;
  for (var r = 0u; r < p.rows; r++) { let o = r * p.h + i; s += dy[o] * x[o] * rstd[r]; }
  dw[i] += s;
}`;

/** LayerNorm forward (biased variance), one invocation per row; writes mean[r] and rstd[r]. */
export const LN_FWD = `${HEADER('rows: u32, h: u32, eps: f32, _c: u32')}
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<f32>;
@group(0) @binding(3) var<storage, read> b: array<f32>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;
@group(0) @binding(5) var<storage, read_write> stats: array<f32>;
${MAIN1D} ${GRID}
  if (i >= p.rows) { return; }
  let o = i * p.h;
  var mu = 0.0;
  for (var j = 0u; j < p.h; j++) { mu += x[o + j]; }
  mu /= f32(p.h);
  var v = 0.0;
  for (var j = 0u; j < p.h; j++) { let d = x[o + j] - mu; v += d * d; }
  let r = inverseSqrt(v / f32(p.h) + p.eps);
  for (var j = 0u; j < p.h; j++) { y[o + j] = (x[o + j] - mu) * r * w[j] + b[j]; }
  stats[2u * i] = mu;
  stats[2u * i + 1u] = r;
}`;

/** LayerNorm dx: r·(g − mean(g) − x̂·mean(g·x̂)) with g = dy·w, x̂ = (x − μ)·r. */
export const LN_BWD_X = `${HEADER('rows: u32, h: u32, _b: u32, _c: u32')}
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<f32>;
@group(0) @binding(3) var<storage, read> stats: array<f32>;
@group(0) @binding(4) var<storage, read> dy: array<f32>;
@group(0) @binding(5) var<storage, read_write> dx: array<f32>;
${MAIN1D} ${GRID}
  if (i >= p.rows) { return; }
  let o = i * p.h;
  let mu = stats[2u * i];
  let r = stats[2u * i + 1u];
  var mg = 0.0;
  var mgx = 0.0;
  for (var j = 0u; j < p.h; j++) { let g = dy[o + j] * w[j]; mg += g; mgx += g * (x[o + j] - mu) * r; }
  mg /= f32(p.h);
  mgx /= f32(p.h);
  for (var j = 0u; j < p.h; j++) {
    let xh = (x[o + j] - mu) * r;
    dx[o + j] = r * (dy[o + j] * w[j] - mg - xh * mgx);
  }
}`;

/** LayerNorm dw[j] += Σ dy·x̂, db[j] += Σ dy (one invocation per column). */
export const LN_BWD_W = `${HEADER('rows: u32, h: u32, _b: u32, _c: u32')}
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> stats: array<f32>;
@group(0) @binding(3) var<storage, read> dy: array<f32>;
@group(0) @binding(4) var<storage, read_write> dw: array<f32>;
@group(0) @binding(5) var<storage, read_write> db: array<f32>;
${MAIN1D} ${GRID}
  if (i >= p.h) { return; }
  var sw = 0.0;
  var sb = 0.0;
  for (var r = 0u; r < p.rows; r++) {
    let o = r * p.h + i;
    sw += dy[o] * (x[o] - stats[2u * r]) * stats[2u * r + 1u];
    sb += dy[o];
  }
  dw[i] += sw;
  db[i] += sb;
}`;

/**
 * RoPE (rotate_half convention) on x [N, heads*d] with per-row positions; SIGN = -1 applies the
 * inverse rotation (the backward pass). One invocation per (row, head, j < d/2).
 */
export const ROPE = `${HEADER('rows: u32, heads: u32, d: u32, theta: f32, sign: f32, _a: u32, _b: u32, _c: u32')}
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> pos: array<i32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;
${MAIN1D} ${GRID}
  let half = p.d / 2u;
  if (i >= p.rows * p.heads * half) { return; }
  let j = i % half;
  let rh = i / half;
  let r = rh / p.heads;
  let base = rh * p.d;
  let ang = f32(pos[r]) * pow(p.theta, -2.0 * f32(j) / f32(p.d));
  let c = cos(ang);
  let s = sin(ang) * p.sign;
  let a = x[base + j];
  let b = x[base + j + half];
  y[base + j] = a * c - b * s;
  y[base + j + half] = b * c + a * s;
}`;

/**
 * Segment attention forward. q, k, v, out: [N, heads*D]; query row i attends to rows
 * [start[i], end[i]) (and only j <= i when CAUSAL). Writes lse[i*heads + h]. D is spliced in.
 */
export const attnFwd = (d: number): string => `${HEADER('rows: u32, heads: u32, causal: u32, scale: f32')}
const D: u32 = ${d}u;
@group(0) @binding(1) var<storage, read> q: array<f32>;
@group(0) @binding(2) var<storage, read> k: array<f32>;
@group(0) @binding(3) var<storage, read> v: array<f32>;
@group(0) @binding(4) var<storage, read> seg: array<i32>;
@group(0) @binding(5) var<storage, read_write> o: array<f32>;
@group(0) @binding(6) var<storage, read_write> lse: array<f32>;
${MAIN1D} ${GRID}
  if (i >= p.rows * p.heads) { return; }
  let row = i / p.heads;
  let h = i % p.heads;
  let W = p.heads * D;
  let qo = row * W + h * D;
  var qv: array<f32, D>;
  var acc: array<f32, D>;
  for (var e = 0u; e < D; e++) { qv[e] = q[qo + e] * p.scale; }
  let s0 = u32(seg[2u * row]);
  var s1 = u32(seg[2u * row + 1u]);
  if (p.causal == 1u) { s1 = row + 1u; }
  var m = -3.0e38;
  var l = 0.0;
  for (var j = s0; j < s1; j++) {
    let ko = j * W + h * D;
    var s = 0.0;
    for (var e = 0u; e < D; e++) { s = fma(qv[e], k[ko + e], s); }
    let mn = max(m, s);
    let corr = exp(m - mn);
    let pj = exp(s - mn);
    l = l * corr + pj;
    for (var e = 0u; e < D; e++) { acc[e] = acc[e] * corr + pj * v[ko + e]; }
    m = mn;
  }
  for (var e = 0u; e < D; e++) { o[qo + e] = acc[e] / l; }
  lse[i] = m + log(l);
}`;

/** dq per (row, head), plus delta[i] = dO_i·O_i for the dk/dv kernel. */
export const attnBwdQ = (d: number): string => `${HEADER('rows: u32, heads: u32, causal: u32, scale: f32')}
const D: u32 = ${d}u;
@group(0) @binding(1) var<storage, read> q: array<f32>;
@group(0) @binding(2) var<storage, read> k: array<f32>;
@group(0) @binding(3) var<storage, read> v: array<f32>;
@group(0) @binding(4) var<storage, read> o: array<f32>;
@group(0) @binding(5) var<storage, read> dout: array<f32>;
@group(0) @binding(6) var<storage, read> lse: array<f32>;
@group(0) @binding(7) var<storage, read> seg: array<i32>;
@group(0) @binding(8) var<storage, read_write> dq: array<f32>;
@group(0) @binding(9) var<storage, read_write> delta: array<f32>;
${MAIN1D} ${GRID}
  if (i >= p.rows * p.heads) { return; }
  let row = i / p.heads;
  let h = i % p.heads;
  let W = p.heads * D;
  let qo = row * W + h * D;
  var qv: array<f32, D>;
  var dov: array<f32, D>;
  var acc: array<f32, D>;
  var dl = 0.0;
  for (var e = 0u; e < D; e++) { qv[e] = q[qo + e] * p.scale; dov[e] = dout[qo + e]; dl += dov[e] * o[qo + e]; }
  let L = lse[i];
  let s0 = u32(seg[2u * row]);
  var s1 = u32(seg[2u * row + 1u]);
  if (p.causal == 1u) { s1 = row + 1u; }
  for (var j = s0; j < s1; j++) {
    let ko = j * W + h * D;
    var s = 0.0;
    var dp = 0.0;
    for (var e = 0u; e < D; e++) { s = fma(qv[e], k[ko + e], s); dp = fma(dov[e], v[ko + e], dp); }
    let ds = exp(s - L) * (dp - dl) * p.scale;
    for (var e = 0u; e < D; e++) { acc[e] = fma(ds, k[ko + e], acc[e]); }
  }
  for (var e = 0u; e < D; e++) { dq[qo + e] = acc[e]; }
  delta[i] = dl;
}`;

/** dk, dv per (key row, head): sums over the queries that attend to this key. */
export const attnBwdKV = (d: number): string => `${HEADER('rows: u32, heads: u32, causal: u32, scale: f32')}
const D: u32 = ${d}u;
@group(0) @binding(1) var<storage, read> q: array<f32>;
@group(0) @binding(2) var<storage, read> k: array<f32>;
@group(0) @binding(3) var<storage, read> v: array<f32>;
@group(0) @binding(4) var<storage, read> dout: array<f32>;
@group(0) @binding(5) var<storage, read> lse: array<f32>;
@group(0) @binding(6) var<storage, read> delta: array<f32>;
@group(0) @binding(7) var<storage, read> seg: array<i32>;
@group(0) @binding(8) var<storage, read_write> dk: array<f32>;
@group(0) @binding(9) var<storage, read_write> dv: array<f32>;
${MAIN1D} ${GRID}
  if (i >= p.rows * p.heads) { return; }
  let row = i / p.heads;
  let h = i % p.heads;
  let W = p.heads * D;
  let ko = row * W + h * D;
  var kv: array<f32, D>;
  var vv: array<f32, D>;
  var ak: array<f32, D>;
  var av: array<f32, D>;
  for (var e = 0u; e < D; e++) { kv[e] = k[ko + e] * p.scale; vv[e] = v[ko + e]; }
  var s0 = u32(seg[2u * row]);
  let s1 = u32(seg[2u * row + 1u]);
  if (p.causal == 1u) { s0 = row; }
  for (var r = s0; r < s1; r++) {
    let qo = r * W + h * D;
    var s = 0.0;
    var dp = 0.0;
    for (var e = 0u; e < D; e++) { s = fma(q[qo + e], kv[e], s); dp = fma(dout[qo + e], vv[e], dp); }
    let pr = exp(s - lse[r * p.heads + h]);
    let ds = pr * (dp - delta[r * p.heads + h]) * p.scale;
    for (var e = 0u; e < D; e++) { av[e] = fma(pr, dout[qo + e], av[e]); ak[e] = fma(ds, q[qo + e], ak[e]); }
  }
  for (var e = 0u; e < D; e++) { dk[ko + e] = ak[e]; dv[ko + e] = av[e]; }
}`;

/** out[r, :] = src[idx[r], :], or zeros when idx[r] < 0. */
export const GATHER = `${HEADER('rows: u32, h: u32, _b: u32, _c: u32')}
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read> idx: array<i32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;
${MAIN1D} ${GRID}
  if (i >= p.rows * p.h) { return; }
  let r = i / p.h;
  let s = idx[r];
  var v = 0.0;
  if (s >= 0) { v = src[u32(s) * p.h + i % p.h]; }
  y[i] = v;
}`;

/** dst[idx[r], :] = src[r, :] (distinct rows). */
export const SCATTER = `${HEADER('rows: u32, h: u32, _b: u32, _c: u32')}
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read> idx: array<i32>;
@group(0) @binding(3) var<storage, read_write> dst: array<f32>;
${MAIN1D} ${GRID}
  if (i >= p.rows * p.h) { return; }
  let r = i / p.h;
  dst[u32(idx[r]) * p.h + i % p.h] = src[i];
}`;

/** Embedding backward: dtable[v, c] += Σ_{r: ids[r] == v} dy[r, c] (ids < 0 are skipped). */
export const EMBED_BWD = `${HEADER('rows: u32, h: u32, vocab: u32, _c: u32')}
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read> ids: array<i32>;
@group(0) @binding(3) var<storage, read_write> dt: array<f32>;
${MAIN1D} ${GRID}
  if (i >= p.vocab * p.h) { return; }
  let v = i32(i / p.h);
  let c = i % p.h;
  var s = 0.0;
  for (var r = 0u; r < p.rows; r++) { if (ids[r] == v) { s += dy[r * p.h + c]; } }
  dt[i] += s;
}`;

/**
 * CLIP embeddings: x[img*T + t, c] = (t == 0 ? cls[c] : patch[img*(T-1) + t-1, c]) + pos[t, c].
 */
export const VIS_EMBED = `${HEADER('images: u32, tokens: u32, h: u32, _c: u32')}
@group(0) @binding(1) var<storage, read> pat: array<f32>;
@group(0) @binding(2) var<storage, read> cls: array<f32>;
@group(0) @binding(3) var<storage, read> pos: array<f32>;
@group(0) @binding(4) var<storage, read_write> x: array<f32>;
${MAIN1D} ${GRID}
  if (i >= p.images * p.tokens * p.h) { return; }
  let c = i % p.h;
  let rt = i / p.h;
  let t = rt % p.tokens;
  let img = rt / p.tokens;
  var v = cls[c];
  if (t > 0u) { v = pat[(img * (p.tokens - 1u) + t - 1u) * p.h + c]; }
  x[i] = v + pos[t * p.h + c];
}`;

/** dpos[t, c] += Σ_img dx[img, t, c]; dcls[c] += Σ_img dx[img, 0, c]. One invocation per (t, c). */
export const VIS_EMBED_BWD = `${HEADER('images: u32, tokens: u32, h: u32, _c: u32')}
@group(0) @binding(1) var<storage, read> dx: array<f32>;
@group(0) @binding(2) var<storage, read_write> dpos: array<f32>;
@group(0) @binding(3) var<storage, read_write> dcls: array<f32>;
${MAIN1D} ${GRID}
  if (i >= p.tokens * p.h) { return; }
  let t = i / p.h;
  let c = i % p.h;
  var s = 0.0;
  for (var img = 0u; img < p.images; img++) { s += dx[(img * p.tokens + t) * p.h + c]; }
  dpos[i] += s;
  if (t == 0u) { dcls[c] += s; }
}`;

/**
 * Softmax cross-entropy over logits [R, V] rows with targets[r] and weights[r]: loss[r] =
 * w·(lse − logit[t]), dlogits = w·(softmax − onehot). Also correct[r] = 1 if argmax == target.
 */
export const CE = `${HEADER('rows: u32, vocab: u32, _b: u32, _c: u32')}
@group(0) @binding(1) var<storage, read> logits: array<f32>;
@group(0) @binding(2) var<storage, read> tgt: array<i32>;
@group(0) @binding(3) var<storage, read> wt: array<f32>;
@group(0) @binding(4) var<storage, read_write> dl: array<f32>;
@group(0) @binding(5) var<storage, read_write> loss: array<f32>;
${MAIN1D} ${GRID}
  if (i >= p.rows) { return; }
  let o = i * p.vocab;
  var m = -3.0e38;
  var am = 0u;
  for (var j = 0u; j < p.vocab; j++) { let z = logits[o + j]; if (z > m) { m = z; am = j; } }
  var s = 0.0;
  for (var j = 0u; j < p.vocab; j++) { s += exp(logits[o + j] - m); }
  let t = u32(tgt[i]);
  let w = wt[i];
  for (var j = 0u; j < p.vocab; j++) {
    var g = exp(logits[o + j] - m) / s;
    if (j == t) { g -= 1.0; }
    dl[o + j] = w * g;
  }
  loss[2u * i] = m + log(s) - logits[o + t];
  loss[2u * i + 1u] = select(0.0, 1.0, am == t);
}`;

/** Sum of squares of g[0..total) into out[0] (one workgroup of 256, then a tree in workgroup memory). */
export const SUMSQ = `${HEADER('total: u32, _a: u32, _b: u32, _c: u32')}
@group(0) @binding(1) var<storage, read> g: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
var<workgroup> part: array<f32, 256>;
@compute @workgroup_size(256)
fn main(@builtin(local_invocation_id) lid: vec3<u32>) {
  var s = 0.0;
  for (var i = lid.x; i < p.total; i += 256u) { let v = g[i]; s += v * v; }
  part[lid.x] = s;
  workgroupBarrier();
  for (var w = 128u; w > 0u; w >>= 1u) {
    if (lid.x < w) { part[lid.x] += part[lid.x + w]; }
    workgroupBarrier();
  }
  if (lid.x == 0u) { out[0] = part[0]; }
}`;

/**
 * AdamW on [off, off+count) of the flat parameter buffer, with the gradient scaled by
 * min(1, clip / ||g||) (||g||² in sq[0]); bias corrections bc1 = 1 − β1^t, bc2 = 1 − β2^t.
 */
export const ADAMW = `${HEADER('off: u32, count: u32, lr: f32, wd: f32, b1: f32, b2: f32, eps: f32, clip: f32, bc1: f32, bc2: f32, _a: u32, _b: u32')}
@group(0) @binding(1) var<storage, read> g: array<f32>;
@group(0) @binding(2) var<storage, read> sq: array<f32>;
@group(0) @binding(3) var<storage, read_write> w: array<f32>;
@group(0) @binding(4) var<storage, read_write> m: array<f32>;
@group(0) @binding(5) var<storage, read_write> v: array<f32>;
${MAIN1D} ${GRID}
  if (i >= p.count) { return; }
  let k = p.off + i;
  let norm = sqrt(sq[0]);
  let sc = min(1.0, p.clip / max(norm, 1e-12));
  let gi = g[k] * sc;
  let mi = p.b1 * m[k] + (1.0 - p.b1) * gi;
  let vi = p.b2 * v[k] + (1.0 - p.b2) * gi * gi;
  m[k] = mi;
  v[k] = vi;
  let upd = (mi / p.bc1) / (sqrt(vi / p.bc2) + p.eps);
  w[k] = w[k] - p.lr * (upd + p.wd * w[k]);
}`;

// Vectorised GEMMs (all of K, N, and M for TN, multiples of 4): 4x4 outputs per invocation from
// vec4 loads, one variant per transpose case the trainer uses. Rows past M are clamped for loads.
const GEMM4_HEAD = `${HEADER('m: u32, n: u32, k: u32, acc: u32')}
@group(0) @binding(1) var<storage, read> a: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> b: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> c: array<vec4<f32>>;`;

const GEMM4_STORE = `
  let nq = p.n / 4u;
  for (var i = 0u; i < 4u; i++) {
    let r = r0 + i;
    if (r >= p.m) { break; }
    let idx = r * nq + gid.x;
    var v = acc[i];
    if (p.acc == 1u) { v += c[idx]; }
    c[idx] = v;
  }
}`;

/** C = A·Bᵀ, A [M,K], B [N,K] (y = x·Wᵀ). */
export const GEMM4_NT = `${GEMM4_HEAD}
@compute @workgroup_size(8, 8)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let c0 = gid.x * 4u;
  let r0 = gid.y * 4u;
  if (c0 >= p.n || r0 >= p.m) { return; }
  let k4 = p.k / 4u;
  var ar: array<u32, 4>;
  var bc: array<u32, 4>;
  for (var i = 0u; i < 4u; i++) { ar[i] = min(r0 + i, p.m - 1u) * k4; bc[i] = (c0 + i) * k4; }
  var acc: array<vec4<f32>, 4>;
  for (var kk = 0u; kk < k4; kk++) {
    let b0 = b[bc[0] + kk];
    let b1 = b[bc[1] + kk];
    let b2 = b[bc[2] + kk];
    let b3 = b[bc[3] + kk];
    for (var i = 0u; i < 4u; i++) {
      let x = a[ar[i] + kk];
      acc[i] += vec4<f32>(dot(x, b0), dot(x, b1), dot(x, b2), dot(x, b3));
    }
  }
${GEMM4_STORE}`;

/** C = A·B, A [M,K], B [K,N] (dX = dY·W). */
export const GEMM4_NN = `${GEMM4_HEAD}
@compute @workgroup_size(8, 8)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let c0 = gid.x * 4u;
  let r0 = gid.y * 4u;
  if (c0 >= p.n || r0 >= p.m) { return; }
  let k4 = p.k / 4u;
  let n4 = p.n / 4u;
  var ar: array<u32, 4>;
  for (var i = 0u; i < 4u; i++) { ar[i] = min(r0 + i, p.m - 1u) * k4; }
  var acc: array<vec4<f32>, 4>;
  for (var kk = 0u; kk < k4; kk++) {
    let kb = kk * 4u * n4 + gid.x;
    let b0 = b[kb];
    let b1 = b[kb + n4];
    let b2 = b[kb + 2u * n4];
    let b3 = b[kb + 3u * n4];
    for (var i = 0u; i < 4u; i++) {
      let x = a[ar[i] + kk];
      acc[i] += x.x * b0 + x.y * b1 + x.z * b2 + x.w * b3;
    }
  }
${GEMM4_STORE}`;

/** C = Aᵀ·B, A [K,M], B [K,N] (dW = dYᵀ·X). */
export const GEMM4_TN = `${GEMM4_HEAD}
@compute @workgroup_size(8, 8)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let c0 = gid.x * 4u;
  let r0 = gid.y * 4u;
  if (c0 >= p.n || r0 >= p.m) { return; }
  let m4 = p.m / 4u;
  let n4 = p.n / 4u;
  var acc: array<vec4<f32>, 4>;
  for (var kk = 0u; kk < p.k; kk++) {
    let x = a[kk * m4 + gid.y];
    let y = b[kk * n4 + gid.x];
    acc[0] += x.x * y;
    acc[1] += x.y * y;
    acc[2] += x.z * y;
    acc[3] += x.w * y;
  }
${GEMM4_STORE}`;
