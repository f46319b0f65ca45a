// float64 reference of the RoPE backward: the transpose of a rotation is the rotation by -angle.

/** dx [B, T, H, D] from dy: dx[i] = dy[i] cos a + dy[i + D/2] sin a, dx[i + D/2] = dy[i + D/2] cos a - dy[i] sin a. */
export function refRopeBackward(dy: ArrayLike<number>, shape: readonly [number, number, number, number], pos0: number, theta: number): Float64Array {
  const [B, T, H, D] = shape;
  const half = D / 2;
  const out = new Float64Array(dy.length);
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < T; t++) {
      for (let i = 0; i < half; i++) {
        const a = (pos0 + t) * theta ** (-(2 * i) / D);
        const c = Math.cos(a);
        const s = Math.sin(a);
        for (let h = 0; h < H; h++) {
          const base = ((b * T + t) * H + h) * D;
          const g1 = dy[base + i]!;
          const g2 = dy[base + i + half]!;
          out[base + i] = g1 * c + g2 * s;
          out[base + i + half] = g2 * c - g1 * s;
        }
      }
    }
  }
  return out;
}
