// Shared by attention_flash.wgsl and attention_flash_combine.wgsl: the uniform block and the
// tap / patch position lookups (same semantics as wgsl/attention.wgsl's epilogues).
struct Params {
  b: u32,
  tn: u32,
  hq: u32,
  hkv: u32,
  p: u32,          // prefix length
  s: u32,          // valid suffix length (includes the Tn new tokens)
  smax: u32,
  causal: u32,
  scale: f32,
  npos: u32,
  layer: u32,
  layers: u32,
  splits: u32,     // key splits (1: no split-K, the attend pass writes the output itself)
  chunk: u32,      // keys per split, a multiple of TK
  tk: u32,         // = TK (a uniform copy: a loop bound the CPU JIT does not unroll)
  pad1: u32,
  pos: array<vec4<u32>, 8>,  // up to 32 positions when POS_BUF = 0
}
