// Float64 image features of Idefics2 (Idefics2Model.get_image_features): drop padding frames (all
// pixel values exactly 0), patch mask by the 'all pixels real' rule, the shared Idefics vision tower
// (with Idefics2's position ids, see idefics2Vision), then the connector (SwiGLU projection + perceiver
// resampler). Rows come frame after frame, n_latents each.
import type { VisionConfig } from '../../config/types.js';
import { bucketedPositionIds, ideficsPatchMask, referenceIdeficsVision } from '../idefics3/vision-reference.js';
import type { PixelBatch, ReferenceTensors } from '../types.js';
import type { Idefics2Config } from './config.js';
import { referenceIdefics2Connector } from './perceiver-reference.js';
import { idefics2PositionIds } from './position-ids.js';
import { IDEFICS2_VISION_PREFIX } from './weights.js';

/** Indices of the frames that are not all-zero padding (transformers' real_images_inds). */
export function realFrameIndices(data: ArrayLike<number>, n: number): number[] {
  const per = data.length / n;
  const keep: number[] = [];
  for (let f = 0; f < n; f++) {
    let zero = true;
    for (let i = f * per; i < (f + 1) * per && zero; i++) zero = data[i] === 0;
    if (!zero) keep.push(f);
  }
  return keep;
}

/**
 * The shared Idefics tower with Idefics2's bucketed position ids. The shared tower derives its ids with
 * the older arange rule (bucketedPositionIds); where a frame's ids differ, it is run on a position table
 * whose rows are permuted so that the row it looks up for each patch is the row Idefics2 uses.
 */
function idefics2Vision(tensors: ReadonlyMap<string, Float64Array>, vc: VisionConfig, data: Float64Array, n: number, H: number, W: number, patchMask: Uint8Array): Float64Array {
  const P = vc.patchSize;
  const N = Math.floor(vc.imageSize / P);
  const gh = Math.floor(H / P);
  const gw = Math.floor(W / P);
  const seq = gh * gw;
  const d = vc.hiddenSize;
  const frame = vc.numChannels * H * W;
  const posName = `${IDEFICS2_VISION_PREFIX}embeddings.position_embedding.weight`;
  const table = tensors.get(posName);
  if (!table) throw new Error(`reference: weight '${posName}' is not loaded`);
  const out = new Float64Array(n * seq * d);
  for (let f = 0; f < n; f++) {
    const mask = patchMask.subarray(f * seq, (f + 1) * seq);
    const shared = bucketedPositionIds(mask, gh, gw, N);
    const ours = idefics2PositionIds(mask, gh, gw, N);
    let frameTensors = tensors;
    if (shared.some((id, t) => id !== ours[t])) {
      const remapped = table.slice();
      const target = new Map<number, number>();
      shared.forEach((id, t) => {
        const want = ours[t]!;
        if ((target.get(id) ?? want) !== want) throw new Error(`reference Idefics2: position id ${id} of the shared tower stands for both ${target.get(id)} and ${want}`);
        target.set(id, want);
        remapped.set(table.subarray(want * d, (want + 1) * d), id * d);
      });
      frameTensors = new Map(tensors).set(posName, remapped);
    }
    const input = { data: data.subarray(f * frame, (f + 1) * frame), n: 1, height: H, width: W, patchMask: mask };
    out.set(referenceIdeficsVision(frameTensors, IDEFICS2_VISION_PREFIX, vc, input), f * seq * d);
  }
  return out;
}

/** [real frames * n_latents, text hidden]: the rows the image tokens of the prompt receive, in order. */
export function referenceIdefics2ImageFeatures(
  model: ReferenceTensors<Idefics2Config>,
  pixels: { data: Float64Array; shape: PixelBatch['shape']; mask?: Uint8Array },
): Float64Array {
  const { config, tensors } = model;
  const [n, C, H, W] = pixels.shape;
  if (C !== config.vision.numChannels) throw new Error(`reference Idefics2: pixels have ${C} channels, vision_config.num_channels is ${config.vision.numChannels}`);
  if (pixels.data.length !== n * C * H * W) throw new Error(`reference Idefics2: pixels have ${pixels.data.length} values, [${n}, ${C}, ${H}, ${W}] needs ${n * C * H * W}`);
  if (pixels.mask && pixels.mask.length !== n * H * W) throw new Error(`reference Idefics2: pixel mask has ${pixels.mask.length} entries, [${n}, ${H}, ${W}] needs ${n * H * W}`);
  const keep = realFrameIndices(pixels.data, n);
  const m = keep.length;
  const frame = C * H * W;
  const data = new Float64Array(m * frame);
  // No pixel_attention_mask means every pixel is real.
  const mask = new Uint8Array(m * H * W).fill(1);
  keep.forEach((f, i) => {
    data.set(pixels.data.subarray(f * frame, (f + 1) * frame), i * frame);
    if (pixels.mask) mask.set(pixels.mask.subarray(f * H * W, (f + 1) * H * W), i * H * W);
  });
  const P = config.vision.patchSize;
  const patchMask = ideficsPatchMask(mask, m, H, W, P, 'all');
  const vision = idefics2Vision(tensors, config.vision, data, m, H, W, patchMask);
  const seq = Math.floor(H / P) * Math.floor(W / P);
  return referenceIdefics2Connector(tensors, config, vision, m, seq, patchMask);
}
