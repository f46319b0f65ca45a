// matmul operand loads: X f32, W f32, scalar reads (any K). ldx4/ldw4 compose 4 scalars.
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<f32>;
fn ldx4(i: u32) -> vec4<f32> { return vec4<f32>(x[i], x[i + 1u], x[i + 2u], x[i + 3u]); }
fn ldw4(i: u32) -> vec4<f32> { return vec4<f32>(w[i], w[i + 1u], w[i + 2u], w[i + 3u]); }
fn ldx1(i: u32) -> f32 { return x[i]; }
fn ldw1(i: u32) -> f32 { return w[i]; }
