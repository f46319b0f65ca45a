// Float64 reference of the Idefics vision tower (Idefics3VisionTransformer, the same module as
// Idefics2VisionTransformer; VLM_FAMILIES.md 1.3, 2.3), shared by the Idefics3 and Idefics2 families:
//   patch mask  a P x P block of the pixel mask is a valid patch when any (Idefics3) / all (Idefics2)
//               of its pixels are real; blocks past floor(H / P), floor(W / P) are dropped;
//   embeddings  Conv2d(C, D, P, stride P, "valid", bias) in row-major patch order, plus
//               position_embedding[bucketed position id] (padded patches take id 0);
//   encoder     SigLIP pre-LN layers; invalid patches are masked out as keys (additive finfo.min);
//   output      post_layernorm(last hidden state), [n, gridH * gridW, D].
//
// Bucketed position ids replicate torch's float32 arithmetic exactly (checked against torch.arange +
// torch.bucketize in the tests): the step of the fractional coordinates is the float32 1 / nb (a tensor
// division), the boundaries' step the double 1 / N; torch.arange on the CPU computes in double and rounds
// to float32, and its vectorised path (8 float lanes on AVX2 and generic builds, 16 on AVX512) starts each
// lane group from the float32 value at its first index. The rounding differences this makes change
// no bucket for N in {26, 27, 32} (every Idefics3 / SmolVLM tile) nor for any N < 19; for Idefics2's
// N = 70 they change the ids of partial grids with nb = 49 or 58 only (pass `lanes` to pick a machine).
import type { VisionConfig } from '../../config/types.js';
import { activate, addInPlace, layerNorm, linear, softmaxInPlace } from '../../reference/math.js';

/** float32 of a double, as C's (float) cast: round to nearest even. */
const f32 = Math.fround;

/**
 * torch.arange(start, end, step) for a float32 result on the CPU: length ceil((end - start) / step) in
 * double; element i = float32(start + step * i) in double, except inside the vectorised part (groups of
 * `lanes` while at least 2 * lanes elements remain), where element g + k = float32(float32(start + step * g) + k * step).
 */
export function torchArangeF32(start: number, end: number, step: number, lanes = 8): Float32Array {
  const n = Math.max(0, Math.ceil((end - start) / step));
  const out = new Float32Array(n);
  let i = 0;
  if (lanes > 0) {
    for (; i <= n - 2 * lanes; i += 2 * lanes) {
      for (const g of [i, i + lanes]) {
        const base = f32(start + step * g);
        for (let k = 0; k < lanes; k++) out[g + k] = base + k * step;
      }
    }
  }
  for (; i < n; i++) out[i] = start + step * i;
  return out;
}

/** torch.bucketize(x, boundaries, right=True): the number of boundaries <= x (boundaries ascending). */
export function bucketRight(x: number, boundaries: Float32Array): number {
  let lo = 0;
  let hi = boundaries.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (boundaries[mid]! <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * Idefics' position ids of one image's patch grid (Idefics3VisionEmbeddings.forward): with nb_h valid
 * rows (mask column 0) and nb_w valid columns (mask row 0), the valid patches, in row-major order, get
 * bucket(h) * N + bucket(w) where bucket(t) = bucketize(arange(0, 1 - 1e-6, 1 / nb)[t], arange(1 / N, 1, 1 / N), right)
 * and N = numPatchesPerSide; padded patches get 0. `patchMask` is [gridH * gridW], 1 = valid.
 * `lanes`: torch's CPU vector width for float32 (8: AVX2 and generic builds, 16: AVX512, 0: scalar).
 */
export function bucketedPositionIds(patchMask: Uint8Array, gridH: number, gridW: number, numPatchesPerSide: number, lanes = 8): Int32Array {
  if (patchMask.length !== gridH * gridW) throw new Error(`bucketedPositionIds: mask has ${patchMask.length} entries, grid ${gridH}x${gridW} needs ${gridH * gridW}`);
  const N = numPatchesPerSide;
  const ids = new Int32Array(gridH * gridW);
  let nbH = 0;
  let nbW = 0;
  for (let r = 0; r < gridH; r++) nbH += patchMask[r * gridW]! ? 1 : 0;
  for (let c = 0; c < gridW; c++) nbW += patchMask[c]! ? 1 : 0;
  let valid = 0;
  for (const m of patchMask) valid += m ? 1 : 0;
  if (valid !== nbH * nbW) {
    throw new Error(`bucketedPositionIds: ${valid} valid patches do not form the ${nbH} x ${nbW} rectangle of the first row and column (torch would fail to assign them)`);
  }
  if (valid === 0) return ids;
  const boundaries = torchArangeF32(1 / N, 1.0, 1 / N, lanes);
  // 1 / nb_patches is a tensor division: float32.
  const bucketsOf = (nb: number): Int32Array => {
    const frac = torchArangeF32(0, 1 - 1e-6, f32(1 / nb), lanes);
    if (frac.length !== nb) throw new Error(`bucketedPositionIds: arange over 1/${nb} gave ${frac.length} coordinates`);
    return Int32Array.from(frac, (x) => bucketRight(x, boundaries));
  };
  const bh = bucketsOf(nbH);
  const bw = bucketsOf(nbW);
  let t = 0;
  for (let i = 0; i < ids.length; i++) {
    if (!patchMask[i]) continue;
    ids[i] = bh[Math.floor(t / nbW)]! * N + bw[t % nbW]!;
    t++;
  }
  return ids;
}

/**
 * The patch mask [n, floor(H / P) * floor(W / P)] of a pixel mask [n, H, W] (1 = real pixel): a patch is
 * valid when 'any' of its P x P pixels is real (Idefics3: block sum > 0) or 'all' are (Idefics2: == P^2).
 */
export function ideficsPatchMask(pixelMask: Uint8Array, n: number, H: number, W: number, patch: number, rule: 'any' | 'all'): Uint8Array {
  if (pixelMask.length !== n * H * W) throw new Error(`ideficsPatchMask: mask has ${pixelMask.length} entries, [${n}, ${H}, ${W}] needs ${n * H * W}`);
  const gh = Math.floor(H / patch);
  const gw = Math.floor(W / patch);
  const out = new Uint8Array(n * gh * gw);
  for (let i = 0; i < n; i++) {
    for (let r = 0; r < gh; r++) {
      for (let c = 0; c < gw; c++) {
        let sum = 0;
        for (let y = 0; y < patch; y++) for (let x = 0; x < patch; x++) sum += pixelMask[(i * H + r * patch + y) * W + c * patch + x]! ? 1 : 0;
        out[(i * gh + r) * gw + c] = (rule === 'any' ? sum > 0 : sum === patch * patch) ? 1 : 0;
      }
    }
  }
  return out;
}

/** Idefics3's rule: a patch is valid when any of its pixels is. */
export const idefics3PatchMask = (pixelMask: Uint8Array, n: number, H: number, W: number, patch: number): Uint8Array => ideficsPatchMask(pixelMask, n, H, W, patch, 'any');

function tensor(tensors: ReadonlyMap<string, Float64Array>, name: string): Float64Array {
  const t = tensors.get(name);
  if (!t) throw new Error(`reference: weight '${name}' is not loaded`);
  return t;
}

/** Bidirectional multi-head attention over x [n, d] with biased projections; keys with valid[j] = 0 are masked. */
function maskedSelfAttention(tensors: ReadonlyMap<string, Float64Array>, p: string, vc: VisionConfig, x: Float64Array, n: number, valid: Uint8Array): Float64Array {
  const { hiddenSize: d, numHeads, headDim } = vc;
  const w = (s: string): Float64Array => tensor(tensors, `${p}self_attn.${s}`);
  const q = linear(x, n, w('q_proj.weight'), d, w('q_proj.bias'));
  const k = linear(x, n, w('k_proj.weight'), d, w('k_proj.bias'));
  const v = linear(x, n, w('v_proj.weight'), d, w('v_proj.bias'));
  const keys: number[] = [];
  for (let j = 0; j < n; j++) if (valid[j]) keys.push(j);
  // With every key masked, adding finfo(float32).min absorbs each score: softmax becomes uniform.
  const uniform = keys.length === 0;
  if (uniform) for (let j = 0; j < n; j++) keys.push(j);
  const scale = 1 / Math.sqrt(headDim);
  const out = new Float64Array(n * d);
  const scores = new Float64Array(keys.length);
  for (let h = 0; h < numHeads; h++) {
    const off = h * headDim;
    for (let i = 0; i < n; i++) {
      keys.forEach((j, t) => {
        let s = 0;
        for (let e = 0; e < headDim; e++) s += q[i * d + off + e]! * k[j * d + off + e]!;
        scores[t] = uniform ? 0 : s * scale;
      });
      softmaxInPlace(scores, keys.length);
      keys.forEach((j, t) => {
        for (let e = 0; e < headDim; e++) out[i * d + off + e]! += scores[t]! * v[j * d + off + e]!;
      });
    }
  }
  return linear(out, n, w('out_proj.weight'), d, w('out_proj.bias'));
}

/**
 * The Idefics vision tower in float64: `input.data` is [n, C, height, width] normalised pixels,
 * `input.patchMask` [n, gridH * gridW] (gridH = floor(height / P), gridW = floor(width / P)). Returns
 * post_layernorm(last_hidden_state), [n, gridH * gridW, hidden]. Tensors are read under `prefix`
 * (e.g. 'model.vision_model.').
 */
export function referenceIdeficsVision(
  tensors: ReadonlyMap<string, Float64Array>,
  prefix: string,
  vc: VisionConfig,
  input: { data: Float64Array; n: number; height: number; width: number; patchMask: Uint8Array },
  /** Each family's own bucketing (Idefics2's differs from Idefics3's, see idefics2/position-ids.ts). */
  positionIds: (patchMask: Uint8Array, gridH: number, gridW: number, patchesPerSide: number) => Int32Array = bucketedPositionIds,
): Float64Array {
  const { n, height: H, width: W, data, patchMask } = input;
  const { hiddenSize: d, patchSize: P, numChannels: C, intermediateSize, hiddenAct, layerNormEps: eps } = vc;
  const N = Math.floor(vc.imageSize / P);
  const gh = Math.floor(H / P);
  const gw = Math.floor(W / P);
  const seq = gh * gw;
  if (data.length !== n * C * H * W) throw new Error(`reference Idefics vision: pixels have ${data.length} values, [${n}, ${C}, ${H}, ${W}] needs ${n * C * H * W}`);
  if (patchMask.length !== n * seq) throw new Error(`reference Idefics vision: patch mask has ${patchMask.length} entries, [${n}, ${gh}x${gw}] needs ${n * seq}`);
  const w = (s: string): Float64Array => tensor(tensors, prefix + s);
  const conv = w('embeddings.patch_embedding.weight'); // [d, C, P, P]
  const convBias = w('embeddings.patch_embedding.bias');
  const posTable = w('embeddings.position_embedding.weight'); // [N^2, d]
  const out = new Float64Array(n * seq * d);
  for (let f = 0; f < n; f++) {
    const px = data.subarray(f * C * H * W, (f + 1) * C * H * W);
    const mask = patchMask.subarray(f * seq, (f + 1) * seq);
    const pos = positionIds(mask, gh, gw, N);
    let h: Float64Array = new Float64Array(seq * d);
    for (let r = 0; r < gh; r++) {
      for (let c = 0; c < gw; c++) {
        const t = r * gw + c;
        const id = pos[t]!;
        if (id >= N * N) throw new Error(`reference Idefics vision: position id ${id} is outside the ${N * N}-row position table`);
        for (let o = 0; o < d; o++) {
          let s = convBias[o]!;
          for (let ch = 0; ch < C; ch++)
            for (let ky = 0; ky < P; ky++)
              for (let kx = 0; kx < P; kx++) s += conv[((o * C + ch) * P + ky) * P + kx]! * px[(ch * H + r * P + ky) * W + c * P + kx]!;
          h[t * d + o] = s + posTable[id * d + o]!;
        }
      }
    }
    for (let i = 0; i < vc.numLayers; i++) {
      const L = `${prefix}encoder.layers.${i}.`;
      const lw = (s: string): Float64Array => tensor(tensors, L + s);
      addInPlace(h, maskedSelfAttention(tensors, L, vc, layerNorm(h, d, lw('layer_norm1.weight'), lw('layer_norm1.bias'), eps), seq, mask));
      const x = layerNorm(h, d, lw('layer_norm2.weight'), lw('layer_norm2.bias'), eps);
      const mid = activate(hiddenAct, linear(x, seq, lw('mlp.fc1.weight'), intermediateSize, lw('mlp.fc1.bias')));
      h = addInPlace(h, linear(mid, seq, lw('mlp.fc2.weight'), d, lw('mlp.fc2.bias')));
    }
    out.set(layerNorm(h, d, w('post_layernorm.weight'), w('post_layernorm.bias'), eps), f * seq * d);
  }
  return out;
}

/** Indices of the frames transformers keeps (Idefics2 and 3): those not entirely 0.0, padding frames being all zeros (the first one if none is). */
export function ideficsRealFrames(data: ArrayLike<number>, n: number): number[] {
  const size = data.length / n;
  const keep: number[] = [];
  for (let i = 0; i < n; i++) {
    for (let j = i * size; j < (i + 1) * size; j++) {
      if (data[j] !== 0) {
        keep.push(i);
        break;
      }
    }
  }
  return keep.length === 0 && n > 0 ? [0] : keep;
}

/** Image features [kept frames * seq / s^2, text hidden] of a pixel batch [n, C, H, W] (+ optional mask [n, H, W]). */
