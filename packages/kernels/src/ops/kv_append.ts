// KV-cache append (wgsl/kv_append.wgsl): writes src [B, Tn, Hkv, D] into cache [B, Smax, Hkv, D]
// at rows [at, at + Tn) of every batch row.
import { checkDtype, checkThat } from '../check.js';
import { fmtShape } from '../errors.js';
import type { Recorder } from '../recorder.js';
import { grid1d } from '../recorder.js';
import type { Tensor } from '../tensor.js';
import { params, wgsl } from '../wgsl.js';

const K = 'kv_append';
const WG = 256;

/** cache[b, at + t] = src[b, t] for t in 0..Tn-1; returns cache. Records, never submits. */
export async function kvAppend(rec: Recorder, src: Tensor, cache: Tensor, at: number): Promise<Tensor> {
  checkDtype(K, src, 'f32');
  checkDtype(K, cache, 'f32');
  checkThat(K, src.rank === 4 && cache.rank === 4, `src ${fmtShape(src.shape)} and cache ${fmtShape(cache.shape)} must be [B, Tn, Hkv, D] and [B, Smax, Hkv, D]`);
  const [B, Tn, Hkv, D] = src.shape as [number, number, number, number];
  const [cb, Smax, ch, cd] = cache.shape as [number, number, number, number];
  checkThat(K, cb === B && ch === Hkv && cd === D, `src ${fmtShape(src.shape)} does not match cache ${fmtShape(cache.shape)} in B, Hkv or D`);
  checkThat(K, Number.isInteger(at) && at >= 0 && at + Tn <= Smax, `appending ${Tn} tokens at ${at} overflows the cache ${fmtShape(cache.shape)} (Smax ${Smax})`);
  const row = Hkv * D;
  const n = B * Tn * row;
  if (n === 0) return cache;
  const pipe = await rec.gpu.pipeline(K, wgsl('kv_append.wgsl'), { WG });
  rec.dispatch(pipe, params([n, Tn * row, Smax * row, at * row]), [src, cache], grid1d(n, WG));
  return cache;
}
