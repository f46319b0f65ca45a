// Staging type of W for matmul_tiled.wgsl / matmul_gemv.wgsl without shader-f16: W (f32, or packed
// f16 unpacked by the io prelude's ldw4/ldw1) is staged as f32. Follows one of matmul_io_*.wgsl.
alias WV = vec4<f32>;
fn ldwv4(i: u32) -> WV { return ldw4(i); }
fn ldwv1(i: u32) -> f32 { return ldw1(i); }
