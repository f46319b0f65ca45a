// matmul operand loads: X f32, W f32, both read as vec4 (needs K % 4 == 0 so every row of X and
// W starts on a vec4 boundary). Element indices passed to ldx4/ldw4 are multiples of 4.
@group(0) @binding(1) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> w: array<vec4<f32>>;
fn ldx4(i: u32) -> vec4<f32> { return x[i >> 2u]; }
fn ldw4(i: u32) -> vec4<f32> { return w[i >> 2u]; }
fn ldx1(i: u32) -> f32 { return x[i >> 2u][i & 3u]; }
fn ldw1(i: u32) -> f32 { return w[i >> 2u][i & 3u]; }
