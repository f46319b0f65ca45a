// The whole forward in float64, for any family: the family's images -> image features, scattered
// into the rows of the image tokens in order (masked_scatter), then the shared decoder (VLM_FORMATS.md 1.6).
import { familyOf } from '../families/registry.js';
import type { PixelBatch } from '../families/types.js';
import { TEXT_PREFIX } from '../weights/names.js';
import { referenceDecoder, type DecoderOptions, type DecoderOutput } from './decoder.js';
import { weight, type ReferenceModel } from './model.js';

export interface ReferencePixels {
  data: Float64Array;
  shape: PixelBatch['shape'];
  mask?: Uint8Array;
  /** Qwen2-VL: image_grid_thw of the flattened patches. */
  grids?: PixelBatch['grids'];
  /** Anyres families (LLaVA-NeXT / OneVision): each image's original size and tile count. */
  images?: PixelBatch['images'];
}

export interface ReferenceInputs {
  /** Token ids with each image already expanded to its image tokens. */
  inputIds: readonly number[];
  /** The family's pixel batch (as PreparedPrompt.pixels, in float64). */
  pixels?: ReferencePixels;
  /** LLaVA shorthand: one normalised image per image run, each [channels, imageSize, imageSize]. */
  images?: readonly Float64Array[];
  /**
   * Multimodal RoPE positions [3, T] (Qwen2-VL). Default for a decoder with mrope_section: the
   * family's own rule (get_rope_index over inputIds and the pixel grids), as transformers recomputes
   * them from the whole sequence when there is no cache.
   */
  ropePositions?: ArrayLike<number>;
}

function pixelsOf(model: ReferenceModel, inputs: ReferenceInputs): ReferencePixels | null {
  if (inputs.pixels) return inputs.pixels;
  const images = inputs.images ?? [];
  if (images.length === 0) return null;
  if (model.config.family !== 'llava') throw new Error(`reference: 'images' is LLaVA's shorthand; give ${model.config.family} its pixel batch`);
  const { numChannels: C, imageSize: S } = model.config.vision;
  const size = C * S * S;
  const data = new Float64Array(images.length * size);
  images.forEach((img, i) => {
    if (img.length !== size) throw new Error(`reference vision: pixel values have ${img.length} elements, expected [${C}, ${S}, ${S}] = ${size}`);
    data.set(img, i * size);
  });
  return { data, shape: [images.length, C, S, S] };
}

/** embed_tokens rows, with the k-th image-token row replaced by the k-th image feature row. */
export function referenceEmbeddings(model: ReferenceModel, inputs: ReferenceInputs): Float64Array {
  const { config } = model;
  const H = config.text.hiddenSize;
  const ids = inputs.inputIds;
  const pixels = pixelsOf(model, inputs);
  const features = pixels ? familyOf(config).referenceImageFeatures(model, pixels) : new Float64Array(0);
  const nFeatures = features.length / H;
  const nImageTokens = ids.filter((id) => id === config.imageTokenIndex).length;
  if (nImageTokens !== nFeatures) {
    const n = pixels?.shape[0] ?? 0;
    throw new Error(`reference: ${nImageTokens} image tokens (id ${config.imageTokenIndex}) in the input but ${n} image(s) give ${nFeatures} feature rows`);
  }
  const table = weight(model, `${TEXT_PREFIX}embed_tokens.weight`);
  const out = new Float64Array(ids.length * H);
  let k = 0; // image feature rows consumed, across images in order
  ids.forEach((id, pos) => {
    if (id === config.imageTokenIndex) {
      out.set(features.subarray(k * H, (k + 1) * H), pos * H);
      k++;
    } else {
      if (!Number.isInteger(id) || id < 0 || id >= config.text.vocabSize) throw new Error(`reference: token id ${id} at position ${pos} is outside the vocabulary (0..${config.text.vocabSize - 1})`);
      out.set(table.subarray(id * H, (id + 1) * H), pos * H);
    }
  });
  return out;
}

/** Logits (every position, or the last with lastOnly), plus the tap when asked. */
export function referenceForward(model: ReferenceModel, inputs: ReferenceInputs, opts: DecoderOptions = {}): DecoderOutput {
  if (inputs.inputIds.length === 0) throw new Error('reference: empty input');
  let ropePositions = inputs.ropePositions;
  const family = familyOf(model.config);
  if (!ropePositions && model.config.text.rope.mropeSection && family.ropePositions) {
    ropePositions = family.ropePositions(model.config, inputs.inputIds, inputs.pixels?.grids ?? []);
  }
  return referenceDecoder(model, referenceEmbeddings(model, inputs), inputs.inputIds.length, { ...opts, ...(ropePositions ? { ropePositions } : {}) });
}
