// float64 reference for rotary position embedding (Hugging Face rotate_half convention).

/**
 * x [B, T, H, D] -> y with, for i < D/2, a = (pos0 + t) * invFreq[i]:
 * y[i] = x[i] cos a - x[i + D/2] sin a, y[i + D/2] = x[i + D/2] cos a + x[i] sin a.
 * invFreq defaults to theta^(-2i/D).
 */
export function refRope(x: ArrayLike<number>, shape: readonly [number, number, number, number], pos0: number, theta: number, invFreq?: ArrayLike<number>): Float64Array {
  const [B, T, H, D] = shape;
  const half = D / 2;
  const f = invFreq ?? Float64Array.from({ length: half }, (_, i) => theta ** (-(2 * i) / D));
  const out = new Float64Array(x.length);
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < T; t++) {
      for (let i = 0; i < half; i++) {
        const a = (pos0 + t) * f[i]!;
        const c = Math.cos(a);
        const s = Math.sin(a);
        for (let h = 0; h < H; h++) {
          const base = ((b * T + t) * H + h) * D;
          const x1 = x[base + i]!;
          const x2 = x[base + i + half]!;
          out[base + i] = x1 * c - x2 * s;
          out[base + i + half] = x2 * c + x1 * s;
        }
      }
    }
  }
  return out;
}

/**
 * x [B, T, H, D] -> y with a position per (token, frequency): for i < D/2, a = positions[t * D/2 + i] * invFreq[i]
 * (invFreq defaults to theta^(-2i/D)); otherwise as refRope.
 */
export function refRopeAt(x: ArrayLike<number>, shape: readonly [number, number, number, number], positions: ArrayLike<number>, theta: number, invFreq?: ArrayLike<number>): Float64Array {
  const [B, T, H, D] = shape;
  const half = D / 2;
  const f = invFreq ?? Float64Array.from({ length: half }, (_, i) => theta ** (-(2 * i) / D));
  const out = new Float64Array(x.length);
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < T; t++) {
      for (let i = 0; i < half; i++) {
        const a = positions[t * half + i]! * f[i]!;
        const c = Math.cos(a);
        const s = Math.sin(a);
        for (let h = 0; h < H; h++) {
          const base = ((b * T + t) * H + h) * D;
          const x1 = x[base + i]!;
          const x2 = x[base + i + half]!;
          out[base + i] = x1 * c - x2 * s;
          out[base + i + half] = x2 * c + x1 * s;
        }
      }
    }
  }
  return out;
}
