// float64 reference for the embedding lookup.

/** out[k, :] = table[ids[k], :] for a table [V, h] given as values (f16 tables: pass the rounded values). */
export function refEmbedding(table: ArrayLike<number>, h: number, ids: ArrayLike<number>): Float64Array {
  const out = new Float64Array(ids.length * h);
  for (let k = 0; k < ids.length; k++) {
    for (let j = 0; j < h; j++) out[k * h + j] = table[ids[k]! * h + j]!;
  }
  return out;
}
