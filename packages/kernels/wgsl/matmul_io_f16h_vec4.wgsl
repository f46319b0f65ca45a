// matmul operand loads with shader-f16 (the host prepends `enable f16;`): X f32 as vec4, W bound as
// array<vec4<f16>> (the packed f16 layout read 4 halves = 8 bytes at a time; needs K % 4 == 0).
// ldw4/ldw1 widen to f32 (exact); ldwv4/ldwv1 keep f16 for staging.
@group(0) @binding(1) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> w: array<vec4<f16>>;
alias WV = vec4<f16>;
fn ldx4(i: u32) -> vec4<f32> { return x[i >> 2u]; }
fn ldx1(i: u32) -> f32 { return x[i >> 2u][i & 3u]; }
fn ldwv4(i: u32) -> WV { return w[i >> 2u]; }
fn ldwv1(i: u32) -> f16 { return w[i >> 2u][i & 3u]; }
fn ldw4(i: u32) -> vec4<f32> { return vec4<f32>(w[i >> 2u]); }
fn ldw1(i: u32) -> f32 { return f32(w[i >> 2u][i & 3u]); }
