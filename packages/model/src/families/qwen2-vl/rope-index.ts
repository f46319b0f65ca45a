// Qwen2-VL's get_rope_index for one unpadded prompt (VLM_FAMILIES.md 4.6): multimodal RoPE positions
// [3, T] (temporal, height, width). Text tokens get the same position on all three rows, one more
// than the largest position before them; the image tokens of an image (found as the first image-pad
// token at or after the current text start; transformers counts images through the token after each
// <|vision_start|>) get (s0 + t, s0 + row, s0 + column) over its merged grid, s0 being where the image
// starts. Qwen2.5-VL scales t by second_per_grid_t * tokens_per_second, which is 0 for images, and
// images have t = 0 only, so both variants agree here. Generated tokens continue from max + 1
// (transformers' rope_deltas: position = cache position + max + 1 - T).
import { PromptError } from '../../prompt/errors.js';

/** Positions [3, ids.length] (row r at [r * T, (r + 1) * T)) for images with grids (t, h, w) in patches. */
export function qwen2VLRopeIndex(ids: ArrayLike<number>, grids: ReadonlyArray<readonly [number, number, number]>, imageTokenId: number, visionStartTokenId: number, mergeSize: number): Int32Array {
  const T = ids.length;
  const out = new Int32Array(3 * T);
  // images as transformers counts them: the tokens right after each <|vision_start|>
  let images = 0;
  for (let i = 0; i + 1 < T; i++) if (ids[i] === visionStartTokenId && ids[i + 1] === imageTokenId) images++;
  if (images !== grids.length) throw new PromptError(`get_rope_index: the prompt has ${images} image(s) (<|vision_start|> followed by an image token) but ${grids.length} image grid(s) were given`);
  let st = 0;
  let next = 0; // max position so far + 1
  const set = (i: number, t: number, h: number, w: number): void => {
    out[i] = t;
    out[T + i] = h;
    out[2 * T + i] = w;
  };
  for (const [gt, gh, gw] of grids) {
    let ed = st;
    while (ed < T && ids[ed] !== imageTokenId) ed++;
    if (ed >= T) throw new PromptError(`get_rope_index: no image token left for an image from position ${st}`);
    for (let i = st; i < ed; i++) set(i, next + i - st, next + i - st, next + i - st);
    const s0 = next + ed - st;
    const H = gh / mergeSize;
    const W = gw / mergeSize;
    let k = ed;
    let max = s0 - 1;
    for (let t = 0; t < gt; t++)
      for (let r = 0; r < H; r++)
        for (let c = 0; c < W; c++) {
          if (k >= T) throw new PromptError(`get_rope_index: the prompt ends inside an image of ${gt * H * W} tokens`);
          set(k++, s0 + t, s0 + r, s0 + c);
          max = Math.max(max, s0 + t, s0 + r, s0 + c);
        }
    next = max + 1;
    st = k;
  }
  for (let i = st; i < T; i++) set(i, next + i - st, next + i - st, next + i - st);
  return out;
}

/** transformers' rope_deltas: max position + 1 - T (the offset of every generated token's position from its index). */
export function ropeDelta(positions: Int32Array, T: number): number {
  let max = -1;
  for (const v of positions) max = Math.max(max, v);
  return max + 1 - T;
}
