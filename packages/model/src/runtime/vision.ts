// Vision tower (CLIP or SigLIP) + LLaVA projector on the GPU: pixels -> image features in the
// decoder's hidden size, one row per image token (VLM_FORMATS.md 1.5, 2).
import { add, attention, binary, embedding, layernorm, matmul, scatterRows, type Recorder, type Tensor } from '@mtv/kernels';
import { activation, linear, temp } from './layers.js';
import type { ModelWeights } from './weights.js';

/** Patches of N images [N, C, S, S] as rows [N * P, C * p * p], each flattened (c, ky, kx) like the conv weight. */
export function im2col(pixels: Float32Array, n: number, c: number, size: number, patch: number): Float32Array {
  const g = Math.floor(size / patch); // the conv is "valid": remainder pixels are dropped
  const k = c * patch * patch;
  const out = new Float32Array(n * g * g * k);
  for (let i = 0; i < n; i++)
    for (let py = 0; py < g; py++)
      for (let px = 0; px < g; px++) {
        const row = ((i * g + py) * g + px) * k;
        for (let ch = 0; ch < c; ch++)
          for (let ky = 0; ky < patch; ky++) {
            const src = ((i * c + ch) * size + py * patch + ky) * size + px * patch;
            out.set(pixels.subarray(src, src + patch), row + (ch * patch + ky) * patch);
          }
      }
  return out;
}

/**
 * Image features [N * imageSeqLength, textHidden] for N preprocessed images given as one
 * Float32Array [N, C, S, S]. Runs the tower up to the configured hidden state, selects tokens
 * ('default' drops the class token) and applies the projector.
 */
export async function imageFeatures(rec: Recorder, w: ModelWeights, pixels: Float32Array, n: number): Promise<Tensor> {
  const { vision: vc } = w.config;
  const gpu = rec.gpu;
  const P = vc.numPatches;
  const T = vc.numPositions;
  const H = vc.hiddenSize;
  const expected = n * vc.numChannels * vc.imageSize * vc.imageSize;
  if (pixels.length !== expected) {
    throw new Error(`vision: pixel values have ${pixels.length} elements; ${n} image(s) of ${vc.numChannels}x${vc.imageSize}x${vc.imageSize} need ${expected}`);
  }
  const patches = temp(rec, gpu.upload(im2col(pixels, n, vc.numChannels, vc.imageSize, vc.patchSize), [n * P, vc.numChannels * vc.patchSize * vc.patchSize]));
  const pe = await linear(rec, patches, w.vision.patch, w.vision.patchBias);
  let x = pe;
  if (w.vision.classEmbedding) {
    // rows of image i: [class token, patch 0 .. patch P-1]
    const emb = temp(rec, gpu.empty([n * T, H], 'f32', 'vision embeddings'));
    const patchRows = new Int32Array(n * P);
    const clsRows = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      clsRows[i] = i * T;
      for (let p = 0; p < P; p++) patchRows[i * P + p] = i * T + 1 + p;
    }
    const cls = new Float32Array(n * H);
    for (let i = 0; i < n; i++) cls.set(w.vision.classEmbedding, i * H);
    await scatterRows(rec, emb, pe, patchRows);
    await scatterRows(rec, emb, temp(rec, gpu.upload(cls, [n, H])), clsRows);
    x = emb;
  }
  x = temp(rec, await binary(rec, 'add', x.reshape([n, T, H]), w.vision.position));
  if (w.vision.preLnW && w.vision.preLnB) x = temp(rec, await layernorm(rec, x, w.vision.preLnW, w.vision.preLnB, vc.layerNormEps));

  const D = vc.headDim;
  const heads = vc.numHeads;
  for (const L of w.vision.layers) {
    const h = temp(rec, await layernorm(rec, x, L.ln1w, L.ln1b, vc.layerNormEps));
    const q = await linear(rec, h, L.q, L.qb);
    const k = await linear(rec, h, L.k, L.kb);
    const v = await linear(rec, h, L.v, L.vb);
    const o = temp(rec, await attention(rec, {
      q: q.reshape([n, T, heads, D]),
      kSuf: k.reshape([n, T, heads, D]),
      vSuf: v.reshape([n, T, heads, D]),
      causal: false,
    }));
    const a = await linear(rec, o.reshape([n * T, heads * D]), L.o, L.ob);
    const x2 = temp(rec, await add(rec, x.reshape([n * T, H]), a));
    const h2 = temp(rec, await layernorm(rec, x2, L.ln2w, L.ln2b, vc.layerNormEps));
    const f = await activation(rec, vc.hiddenAct, await linear(rec, h2, L.fc1, L.fc1b));
    x = temp(rec, await add(rec, x2, await linear(rec, f, L.fc2, L.fc2b)));
  }
  x = x.reshape([n * T, H]);
  if (w.config.visionFeatureSelectStrategy === 'default') {
    // drop token 0 of every image (the class token for CLIP)
    const keep = new Int32Array(n * (T - 1));
    for (let i = 0; i < n; i++) for (let t = 1; t < T; t++) keep[i * (T - 1) + t - 1] = i * T + t;
    x = temp(rec, await embedding(rec, x, keep));
  }
  const p1 = await activation(rec, w.config.projectorHiddenAct, await linear(rec, x, w.projector.w1, w.projector.b1));
  // The caller owns the features (they are scattered into the decoder input, then released).
  return matmul(rec, p1, w.projector.w2, w.projector.b2 ? { bias: w.projector.b2 } : {});
}
