// Float64 image features of Idefics2 (Idefics2Model.get_image_features): drop padding frames (all
// pixel values exactly 0), patch mask by the 'all pixels real' rule, the shared Idefics vision tower
// (with Idefics2's position ids, see position-ids.ts), then the connector (SwiGLU projection + perceiver
// resampler). Rows come frame after frame, n_latents each.
import { ideficsPatchMask, ideficsRealFrames, referenceIdeficsVision } from '../idefics3/vision-reference.js';
import type { PixelBatch, ReferenceTensors } from '../types.js';
import type { Idefics2Config } from './config.js';
import { referenceIdefics2Connector } from './perceiver-reference.js';
import { idefics2PositionIds } from './position-ids.js';
import { IDEFICS2_VISION_PREFIX } from './weights.js';

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
  const keep = ideficsRealFrames(pixels.data, n);
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
  const vision = referenceIdeficsVision(tensors, IDEFICS2_VISION_PREFIX, config.vision, { data, n: m, height: H, width: W, patchMask }, idefics2PositionIds);
  const seq = Math.floor(H / P) * Math.floor(W / P);
  return referenceIdefics2Connector(tensors, config, vision, m, seq, patchMask);
}
