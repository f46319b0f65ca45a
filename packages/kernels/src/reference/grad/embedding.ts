// float64 references of the embedding (row gather) backward and of the row-scatter backward.

/** dTable[V, H] (+ acc) with dTable[ids[i], :] += dY[i, :]; ids of -1 are skipped (e.g. image tokens). */
export function refEmbeddingBackward(dy: ArrayLike<number>, ids: ArrayLike<number>, vocab: number, h: number, acc?: ArrayLike<number>): Float64Array {
  const out = acc ? Float64Array.from(acc) : new Float64Array(vocab * h);
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i]!;
    if (id < 0) continue;
    for (let j = 0; j < h; j++) out[id * h + j] += dy[i * h + j]!;
  }
  return out;
}

/** Forward dst[rows[i], :] = src[i, :]; backward dsrc[i, :] = ddst[rows[i], :]. */
export function refScatterRowsBackward(ddst: ArrayLike<number>, rows: ArrayLike<number>, h: number): Float64Array {
  const out = new Float64Array(rows.length * h);
  for (let i = 0; i < rows.length; i++) for (let j = 0; j < h; j++) out[i * h + j] = ddst[rows[i]! * h + j]!;
  return out;
}
