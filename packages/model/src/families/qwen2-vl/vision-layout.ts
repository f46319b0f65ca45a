// The index bookkeeping of the Qwen2-VL / Qwen2.5-VL vision tower, shared by the GPU tower and the
// float64 reference (VLM_FAMILIES.md 4.4):
//   - the 2-D rotary positions of every patch row (rot_pos_emb: the patch's grid row and column, in
//     the processor's merge-window order, repeated over t);
//   - the attention segments: one per image frame (cu_seqlens), and for Qwen2.5-VL the windows of
//     get_window_index (window_size / merge / patch merged tokens a side, row-major windows over the
//     merged grid padded to a multiple of the window, merged tokens row-major inside a window).

/** (row, column) of each patch row of the flattened pixels, [L, 2] interleaved. */
export function qwen2VLPatchPositions(grids: ReadonlyArray<readonly [number, number, number]>, merge: number): Int32Array {
  const L = grids.reduce((a, [t, h, w]) => a + t * h * w, 0);
  const out = new Int32Array(2 * L);
  let o = 0;
  for (const [t, h, w] of grids)
    for (let f = 0; f < t; f++)
      for (let bh = 0; bh < h / merge; bh++)
        for (let bw = 0; bw < w / merge; bw++)
          for (let mh = 0; mh < merge; mh++)
            for (let mw = 0; mw < merge; mw++) {
              out[o++] = bh * merge + mh;
              out[o++] = bw * merge + mw;
            }
  return out;
}

/** Patch-row ranges [start, end) of each frame of each image (cu_seqlens). */
export function qwen2VLFrameSegments(grids: ReadonlyArray<readonly [number, number, number]>): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  let s = 0;
  for (const [t, h, w] of grids)
    for (let f = 0; f < t; f++) {
      out.push([s, s + h * w]);
      s += h * w;
    }
  return out;
}

/**
 * get_window_index: window_index (merged-token indices in window order) and the window sizes in
 * merged tokens (empty windows left out, as unique_consecutive of cu_window_seqlens does).
 */
export function qwen2VLWindowIndex(grids: ReadonlyArray<readonly [number, number, number]>, merge: number, window: number): { index: Int32Array; sizes: number[] } {
  const index: number[] = [];
  const sizes: number[] = [];
  let base = 0;
  for (const [t, h, w] of grids) {
    const H = h / merge;
    const W = w / merge;
    // the padding is a whole extra window when the side is already a multiple (it stays empty)
    const nh = (H + window - (H % window)) / window;
    const nw = (W + window - (W % window)) / window;
    for (let f = 0; f < t; f++)
      for (let wy = 0; wy < nh; wy++)
        for (let wx = 0; wx < nw; wx++) {
          let n = 0;
          for (let y = wy * window; y < (wy + 1) * window; y++)
            for (let x = wx * window; x < (wx + 1) * window; x++) {
              if (y >= H || x >= W) continue;
              index.push(base + (f * H + y) * W + x);
              n++;
            }
          if (n > 0) sizes.push(n);
        }
    base += t * H * W;
  }
  return { index: Int32Array.from(index), sizes };
}

/** The windows as sets of patch rows in the original (processor) order: merged token u covers rows [u m^2, (u + 1) m^2). */
export function qwen2VLWindowRows(grids: ReadonlyArray<readonly [number, number, number]>, merge: number, window: number): Int32Array[] {
  const { index, sizes } = qwen2VLWindowIndex(grids, merge, window);
  const unit = merge * merge;
  const out: Int32Array[] = [];
  let k = 0;
  for (const n of sizes) {
    const rows = new Int32Array(n * unit);
    for (let i = 0; i < n; i++) for (let j = 0; j < unit; j++) rows[i * unit + j] = index[k + i]! * unit + j;
    out.push(rows);
    k += n;
  }
  return out;
}
