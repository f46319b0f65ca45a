// Bindings of the attention kernels that read q, K and V (attention.wgsl, attention_flash.wgsl):
// the uniform block, the inputs, and each entry point's outputs (plain, tap, patch; one pipeline
// each, so the bindings of one entry overlap another's). The includer declares Params.
@group(0) @binding(0) var<uniform> prm: Params;
@group(0) @binding(1) var<storage, read> q: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> k_pre: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> v_pre: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read> k_suf: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read> v_suf: array<vec4<f32>>;
// plain
@group(0) @binding(6) var<storage, read_write> out_plain: array<vec4<f32>>;
// tap
@group(0) @binding(6) var<storage, read> tap_pos: array<u32>;
@group(0) @binding(7) var<storage, read_write> out_tap: array<vec4<f32>>;
@group(0) @binding(8) var<storage, read_write> tap: array<vec4<f32>>;
// patch
@group(0) @binding(6) var<storage, read> patch_pos: array<u32>;
@group(0) @binding(7) var<storage, read> mask: array<u32>;
@group(0) @binding(8) var<storage, read> values: array<vec4<f32>>;
@group(0) @binding(9) var<storage, read_write> out_patch: array<vec4<f32>>;
