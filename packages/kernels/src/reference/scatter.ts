// Reference for the row scatter.

/** A copy of dst [n, h] with dst[rows[i], :] = src[i, :]. */
export function refScatterRows(dst: ArrayLike<number>, h: number, src: ArrayLike<number>, rows: ArrayLike<number>): Float64Array {
  const out = Float64Array.from(dst);
  for (let i = 0; i < rows.length; i++) {
    for (let j = 0; j < h; j++) out[rows[i]! * h + j] = src[i * h + j]!;
  }
  return out;
}
