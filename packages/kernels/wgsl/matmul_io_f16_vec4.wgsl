// matmul operand loads: X f32 as vec4, W packed f16 (two halves per u32, element i in word i>>1,
// low half first) read 4 halves = 2 words at a time (needs K % 4 == 0).
@group(0) @binding(1) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> w: array<vec2<u32>>;
fn ldx4(i: u32) -> vec4<f32> { return x[i >> 2u]; }
fn ldw4(i: u32) -> vec4<f32> {
  let q = w[i >> 2u];
  return vec4<f32>(unpack2x16float(q.x), unpack2x16float(q.y));
}
fn ldx1(i: u32) -> f32 { return x[i >> 2u][i & 3u]; }
fn ldw1(i: u32) -> f32 { return unpack2x16float(w[i >> 2u][(i >> 1u) & 1u])[i & 1u]; }
