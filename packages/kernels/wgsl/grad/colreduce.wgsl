// Column reductions over a [rows, n] f32 tensor, for bias and norm-weight gradients:
//   MODE 0: out[n] = sum_m a[m, n]                                   (bias grads; stage 2)
//   MODE 1: out[n] = sum_m a[m, n] ((b[m, n] - st[m].x) - st[m].y) st[m].z   (LayerNorm dweight:
//           dy * xhat, with the row's pivot / mean offset / rstd from the backward row kernel)
//   MODE 2: out[n] = sum_m a[m, n] b[m, n] st[m].z                  (RMSNorm dweight: dy * x * r)
// Deterministic, no atomics: invocation (chunk, col) sums rows [chunk R, chunk R + R) into
// out[chunk, col]; the host runs a second MODE 0 pass over the [chunks, n] partials when there is
// more than one chunk. ACC adds the result to out's previous contents (gradient accumulation).
override MODE: u32 = 0u;
override ACC: bool = false;
override WG: u32 = 64u;

struct Params { rows: u32, n: u32, rows_per_chunk: u32, chunks: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read> st: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;

fn term(m: u32, col: u32) -> f32 {
  let i = m * p.n + col;
  switch MODE {
    case 1u: { let s = st[m]; return a[i] * (((b[i] - s.x) - s.y) * s.z); }
    case 2u: { return a[i] * b[i] * st[m].z; }
    default: { return a[i]; }
  }
}

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let k = gid.x + gid.y * nwg.x * WG;
  if (k >= p.n * p.chunks) { return; }
  let col = k % p.n;
  let chunk = k / p.n;
  let start = chunk * p.rows_per_chunk;
  let end = min(start + p.rows_per_chunk, p.rows);
  var s = 0.0;
  for (var m = start; m < end; m++) { s += term(m, col); }
  if (ACC) { s += out[k]; }
  out[k] = s;
}
