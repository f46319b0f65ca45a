// Tap / patch position k of the attention kernels (attention.wgsl, attention_flash*.wgsl): from the
// uniform block (POS_BUF = 0, at most 32) or a u32 buffer (POS_BUF = 1). The includer declares
// POS_BUF, prm (with pos: array<vec4<u32>, 8>), tap_pos and patch_pos.
fn tap_pos_at(k: u32) -> u32 {
  if (POS_BUF != 0u) { return tap_pos[k]; }
  return prm.pos[k / 4u][k % 4u];
}

fn patch_pos_at(k: u32) -> u32 {
  if (POS_BUF != 0u) { return patch_pos[k]; }
  return prm.pos[k / 4u][k % 4u];
}
