// Shared by attention_flash.wgsl and attention_flash_combine.wgsl: the uniform block and the
// patch test of main_patch (same semantics as wgsl/attention.wgsl's epilogues; the position lookups
// are common/attention_pos.wgsl, which the includer also includes).
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

// main_patch: row (b, t, h) takes the patch values (t is one of the positions and mask[b, layer, h]
// is set); else the computed output.
fn patch_hit(b: u32, t: u32, h: u32) -> bool {
  var hit = false;
  for (var k = 0u; k < prm.npos; k++) { hit = hit || (patch_pos_at(k) == t); }
  return hit && mask[(b * prm.layers + prm.layer) * prm.hq + h] != 0u;
}
