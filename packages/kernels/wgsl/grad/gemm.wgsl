// C[M, N] = op(A) · op(B) (+ C when ACC), f32, for the backward pass:
//   dX = dY · W          (no transposes)
//   dW = dYᵀ · X         (TRANS_A; ACC adds into a gradient accumulated over micro-steps)
//   Y  = X · Wᵀ          (TRANS_B)
// A is stored [M, K] (or [K, M] when TRANS_A), B is stored [K, N] (or [N, K] when TRANS_B).
// Register-blocked for CPU adapters (DESIGN.md section 4): each invocation computes a
// (4 TM4) x (4 TN4) block of C as 4 x 4 sub-blocks (mat4x4) from vec4 loads, with no workgroup
// memory and no barriers; per step of 4 along K it makes TM4 + TN4 sub-block loads (4 vec4 each)
// for 16 TM4 TN4 vec4 multiply-adds (llvmpipe runs each load as a per-lane loop, so bigger
// blocks are faster: ops/matmul/tuning.ts). The host rewrites the TM4 / TN4 consts (they size
// private arrays) and prepends the operand loads (ops/grad/gemm.ts): `lda4(base, col, last)`
// returns elements base + min(col + e, last), e = 0..3, either as one aligned vec4 load (when
// the contiguous dimension is a multiple of 4; the start is then clamped to last - 3) or as 4
// clamped scalars; `lda1(i)` one element; the same for B. Rows/columns past the edge of C are
// clamped for loads (in bounds, results discarded) and skipped for stores, so any M, N, K work.
const TM4: u32 = 1u;        // rows of C per invocation / 4
const TN4: u32 = 1u;        // columns of C per invocation / 4
override TRANS_A: bool = false;
override TRANS_B: bool = false;
override ACC: bool = false;
override WGX: u32 = 8u;     // invocations along N
override WGY: u32 = 1u;     // invocations along M

struct Params { m: u32, n: u32, k: u32, _p: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(3) var<storage, read_write> c: array<f32>;

const NO_CLAMP: u32 = 0xffffffffu;

// storage index of op(A)[r, kk] and of op(B)[kk, col]
fn ia(r: u32, kk: u32) -> u32 { if (TRANS_A) { return kk * p.m + r; } return r * p.k + kk; }
fn ib(kk: u32, col: u32) -> u32 { if (TRANS_B) { return col * p.k + kk; } return kk * p.n + col; }

// column i of the result = op(A)[rows[i], k .. k + 3]; r is the sub-block's first row
fn load_a(k: u32, r: u32, rows: vec4<u32>) -> mat4x4<f32> {
  let lm = p.m - 1u;
  if (TRANS_A) {
    return transpose(mat4x4<f32>(lda4(k * p.m, r, lm), lda4((k + 1u) * p.m, r, lm), lda4((k + 2u) * p.m, r, lm), lda4((k + 3u) * p.m, r, lm)));
  }
  return mat4x4<f32>(lda4(rows.x * p.k, k, NO_CLAMP), lda4(rows.y * p.k, k, NO_CLAMP), lda4(rows.z * p.k, k, NO_CLAMP), lda4(rows.w * p.k, k, NO_CLAMP));
}

// column kk of the result = op(B)[k + kk, cols]; c0 is the sub-block's first column
fn load_b(k: u32, c0: u32, cols: vec4<u32>) -> mat4x4<f32> {
  let ln = p.n - 1u;
  if (TRANS_B) {
    return transpose(mat4x4<f32>(ldb4(cols.x * p.k, k, NO_CLAMP), ldb4(cols.y * p.k, k, NO_CLAMP), ldb4(cols.z * p.k, k, NO_CLAMP), ldb4(cols.w * p.k, k, NO_CLAMP)));
  }
  return mat4x4<f32>(ldb4(k * p.n, c0, ln), ldb4((k + 1u) * p.n, c0, ln), ldb4((k + 2u) * p.n, c0, ln), ldb4((k + 3u) * p.n, c0, ln));
}

@compute @workgroup_size(WGX, WGY)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let c0 = gid.x * 4u * TN4;
  let r0 = gid.y * 4u * TM4;
  if (c0 >= p.n || r0 >= p.m) { return; }
  // clamped row / column indices of each sub-block
  var rows: array<vec4<u32>, TM4>;
  var cols: array<vec4<u32>, TN4>;
  for (var i = 0u; i < TM4; i++) {
    let r = r0 + 4u * i;
    rows[i] = min(vec4<u32>(r, r + 1u, r + 2u, r + 3u), vec4<u32>(p.m - 1u));
  }
  for (var j = 0u; j < TN4; j++) {
    let cc = c0 + 4u * j;
    cols[j] = min(vec4<u32>(cc, cc + 1u, cc + 2u, cc + 3u), vec4<u32>(p.n - 1u));
  }
  // acc[i][j][ii][jj] = C[r0 + 4 i + ii, c0 + 4 j + jj]  (function-scope vars start at zero)
  var acc: array<array<mat4x4<f32>, TN4>, TM4>;
  let k4 = p.k & ~3u;
  for (var k = 0u; k < k4; k += 4u) {
    var ar: array<mat4x4<f32>, TM4>;
    for (var i = 0u; i < TM4; i++) { ar[i] = load_a(k, r0 + 4u * i, rows[i]); }
    for (var j = 0u; j < TN4; j++) {
      let bm = load_b(k, c0 + 4u * j, cols[j]);
      // column ii of bm * ar[i] = sum_kk bm[kk] * ar[i][ii][kk]
      for (var i = 0u; i < TM4; i++) { acc[i][j] += bm * ar[i]; }
    }
  }
  for (var k = k4; k < p.k; k++) {
    var av: array<vec4<f32>, TM4>;
    for (var i = 0u; i < TM4; i++) {
      let rr = rows[i];
      av[i] = vec4<f32>(lda1(ia(rr.x, k)), lda1(ia(rr.y, k)), lda1(ia(rr.z, k)), lda1(ia(rr.w, k)));
    }
    for (var j = 0u; j < TN4; j++) {
      let cc = cols[j];
      let bv = vec4<f32>(ldb1(ib(k, cc.x)), ldb1(ib(k, cc.y)), ldb1(ib(k, cc.z)), ldb1(ib(k, cc.w)));
      for (var i = 0u; i < TM4; i++) {
        acc[i][j] += mat4x4<f32>(bv * av[i].x, bv * av[i].y, bv * av[i].z, bv * av[i].w);
      }
    }
  }
  for (var i = 0u; i < 4u * TM4; i++) {
    let r = r0 + i;
    if (r >= p.m) { break; }
    for (var j = 0u; j < 4u * TN4; j++) {
      let col = c0 + j;
      if (col >= p.n) { break; }
      let idx = r * p.n + col;
      var v = acc[i / 4u][j / 4u][i % 4u][j % 4u];
      if (ACC) { v += c[idx]; }
      c[idx] = v;
    }
  }
}
