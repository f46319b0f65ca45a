// matmul operand loads with shader-f16 (the host prepends `enable f16;`): X f32 scalar, W bound as
// array<f16>: the packed f16 layout (two halves per u32, low half first) is exactly an f16 array,
// so no unpacking. Any K. ldw4/ldw1 widen to f32 (exact); ldwv4/ldwv1 keep f16 for staging.
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<f16>;
alias WV = vec4<f16>;
fn ldx4(i: u32) -> vec4<f32> { return vec4<f32>(x[i], x[i + 1u], x[i + 2u], x[i + 3u]); }
fn ldx1(i: u32) -> f32 { return x[i]; }
fn ldwv4(i: u32) -> WV { return WV(w[i], w[i + 1u], w[i + 2u], w[i + 3u]); }
fn ldwv1(i: u32) -> f16 { return w[i]; }
fn ldw4(i: u32) -> vec4<f32> { return vec4<f32>(ldwv4(i)); }
fn ldw1(i: u32) -> f32 { return f32(w[i]); }
