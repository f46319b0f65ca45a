// The whole LLaVA forward in float64: images -> vision tower -> projector, scattered into the rows of
// the image tokens (in order), then the decoder (VLM_FORMATS.md 1.6).
import { TEXT_PREFIX } from '../weights/names.js';
import { referenceDecoder, type DecoderOptions, type DecoderOutput } from './decoder.js';
import { weight, type ReferenceModel } from './model.js';
import { referenceImageFeatures } from './vision.js';

export interface ReferenceInputs {
  /** Token ids with each image already expanded to imageSeqLength image tokens. */
  inputIds: readonly number[];
  /** One normalised image per image run, each [channels, imageSize, imageSize]. */
  images?: readonly Float64Array[];
}

/** embed_tokens rows, with the k-th image-token row replaced by the k-th image feature row. */
export function referenceEmbeddings(model: ReferenceModel, inputs: ReferenceInputs): Float64Array {
  const { config } = model;
  const H = config.text.hiddenSize;
  const ids = inputs.inputIds;
  const images = inputs.images ?? [];
  const nImageTokens = ids.filter((id) => id === config.imageTokenIndex).length;
  if (nImageTokens !== images.length * config.imageSeqLength) {
    throw new Error(`reference: ${nImageTokens} image tokens (id ${config.imageTokenIndex}) in the input but ${images.length} image(s) x ${config.imageSeqLength} features`);
  }
  const table = weight(model, `${TEXT_PREFIX}embed_tokens.weight`);
  const features = images.map((px) => referenceImageFeatures(model, px));
  const out = new Float64Array(ids.length * H);
  let k = 0; // image feature rows consumed, across images in order
  ids.forEach((id, pos) => {
    if (id === config.imageTokenIndex) {
      const img = features[Math.floor(k / config.imageSeqLength)]!;
      const row = k % config.imageSeqLength;
      out.set(img.subarray(row * H, (row + 1) * H), pos * H);
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
  return referenceDecoder(model, referenceEmbeddings(model, inputs), inputs.inputIds.length, opts);
}
