// matmul operand loads: X f32 scalar, W packed f16 (two halves per u32, element i in word i>>1,
// low half first), any K (a row of W may start on an odd half).
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<u32>;
fn ldx4(i: u32) -> vec4<f32> { return vec4<f32>(x[i], x[i + 1u], x[i + 2u], x[i + 3u]); }
fn ldw1(i: u32) -> f32 { return unpack2x16float(w[i >> 1u])[i & 1u]; }
fn ldw4(i: u32) -> vec4<f32> { return vec4<f32>(ldw1(i), ldw1(i + 1u), ldw1(i + 2u), ldw1(i + 3u)); }
fn ldx1(i: u32) -> f32 { return x[i]; }
