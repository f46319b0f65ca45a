// Model weights on the device, uploaded once per (device, checkpoint, dtype) and shared by every
// session in the process. Matmul weights may stay packed f16 (half the memory, unpacked in the
// matmul kernel); norms, biases and embeddings of the vision tower are f32.
import type { Gpu, Tensor } from '@mtv/kernels';
import type { LlavaConfig } from '../config/index.js';
import type { Checkpoint } from '../weights/index.js';
import { PROJECTOR_PREFIX, TEXT_PREFIX, VISION_PREFIX } from '../weights/index.js';

export type WeightDtype = 'f32' | 'f16';

export interface VisionLayerWeights {
  ln1w: Tensor; ln1b: Tensor; ln2w: Tensor; ln2b: Tensor;
  q: Tensor; qb: Tensor; k: Tensor; kb: Tensor; v: Tensor; vb: Tensor; o: Tensor; ob: Tensor;
  fc1: Tensor; fc1b: Tensor; fc2: Tensor; fc2b: Tensor;
}

export interface TextLayerWeights {
  inNorm: Tensor; postNorm: Tensor;
  q: Tensor; k: Tensor; v: Tensor; o: Tensor;
  qb: Tensor | null; kb: Tensor | null; vb: Tensor | null; ob: Tensor | null;
  gate: Tensor; up: Tensor; down: Tensor;
  gateb: Tensor | null; upb: Tensor | null; downb: Tensor | null;
}

export interface ModelWeights {
  config: LlavaConfig;
  dtype: WeightDtype;
  vision: {
    /** [hidden, channels * patch * patch]: the conv weight flattened (c, ky, kx). */
    patch: Tensor;
    patchBias: Tensor | null;
    classEmbedding: Float32Array | null;
    position: Tensor;
    preLnW: Tensor | null; preLnB: Tensor | null;
    layers: VisionLayerWeights[];
  };
  projector: { w1: Tensor; b1: Tensor | null; w2: Tensor; b2: Tensor | null };
  text: {
    embed: Tensor;
    layers: TextLayerWeights[];
    norm: Tensor;
    lmHead: Tensor;
  };
  /** Bytes held on the device by these weights. */
  deviceBytes: number;
}

const cache = new WeakMap<Gpu, Map<string, Promise<ModelWeights>>>();

/** Uploads (or returns the already uploaded) weights of `ckpt` on `gpu`. */
export function uploadWeights(gpu: Gpu, ckpt: Checkpoint, dtype: WeightDtype): Promise<ModelWeights> {
  let perGpu = cache.get(gpu);
  if (!perGpu) cache.set(gpu, (perGpu = new Map()));
  const key = `${ckpt.dir}\u0000${dtype}`;
  let p = perGpu.get(key);
  if (!p) {
    p = upload(gpu, ckpt, dtype);
    perGpu.set(key, p);
    p.catch(() => perGpu!.delete(key));
  }
  return p;
}

async function upload(gpu: Gpu, ckpt: Checkpoint, dtype: WeightDtype): Promise<ModelWeights> {
  const config = ckpt.config;
  let bytes = 0;
  const track = (t: Tensor): Tensor => {
    bytes += t.byteLength;
    return t;
  };
  const f32 = async (name: string, shape?: readonly number[]): Promise<Tensor> =>
    track(gpu.upload(await ckpt.readF32(name), shape ?? ckpt.shape(name), 'f32', { label: name, persistent: true }));
  const mat = async (name: string, shape?: readonly number[]): Promise<Tensor> =>
    dtype === 'f16'
      ? track(gpu.upload(await ckpt.readF16Packed(name), shape ?? ckpt.shape(name), 'f16', { label: name, persistent: true }))
      : f32(name, shape);
  const opt = async (name: string, f: (n: string) => Promise<Tensor>): Promise<Tensor | null> => (ckpt.has(name) ? f(name) : null);

  const vc = config.vision;
  const V = `${VISION_PREFIX}`;
  const layers: VisionLayerWeights[] = [];
  // Layers past the selected hidden state are never run, so they are not uploaded.
  for (let l = 0; l < config.visionHiddenStateIndex; l++) {
    const p = `${V}encoder.layers.${l}.`;
    layers.push({
      ln1w: await f32(`${p}layer_norm1.weight`), ln1b: await f32(`${p}layer_norm1.bias`),
      ln2w: await f32(`${p}layer_norm2.weight`), ln2b: await f32(`${p}layer_norm2.bias`),
      q: await mat(`${p}self_attn.q_proj.weight`), qb: await f32(`${p}self_attn.q_proj.bias`),
      k: await mat(`${p}self_attn.k_proj.weight`), kb: await f32(`${p}self_attn.k_proj.bias`),
      v: await mat(`${p}self_attn.v_proj.weight`), vb: await f32(`${p}self_attn.v_proj.bias`),
      o: await mat(`${p}self_attn.out_proj.weight`), ob: await f32(`${p}self_attn.out_proj.bias`),
      fc1: await mat(`${p}mlp.fc1.weight`), fc1b: await f32(`${p}mlp.fc1.bias`),
      fc2: await mat(`${p}mlp.fc2.weight`), fc2b: await f32(`${p}mlp.fc2.bias`),
    });
  }
  const patchK = vc.numChannels * vc.patchSize * vc.patchSize;
  const vision = {
    patch: await mat(`${V}embeddings.patch_embedding.weight`, [vc.hiddenSize, patchK]),
    patchBias: vc.patchBias ? await f32(`${V}embeddings.patch_embedding.bias`) : null,
    classEmbedding: vc.classToken ? await ckpt.readF32(`${V}embeddings.class_embedding`) : null,
    position: await f32(`${V}embeddings.position_embedding.weight`),
    preLnW: vc.preLayerNorm ? await f32(`${V}pre_layrnorm.weight`) : null,
    preLnB: vc.preLayerNorm ? await f32(`${V}pre_layrnorm.bias`) : null,
    layers,
  };
  const projector = {
    w1: await mat(`${PROJECTOR_PREFIX}linear_1.weight`),
    b1: await opt(`${PROJECTOR_PREFIX}linear_1.bias`, f32),
    w2: await mat(`${PROJECTOR_PREFIX}linear_2.weight`),
    b2: await opt(`${PROJECTOR_PREFIX}linear_2.bias`, f32),
  };
  const tc = config.text;
  const textLayers: TextLayerWeights[] = [];
  for (let l = 0; l < tc.numLayers; l++) {
    const p = `${TEXT_PREFIX}layers.${l}.`;
    textLayers.push({
      inNorm: await f32(`${p}input_layernorm.weight`), postNorm: await f32(`${p}post_attention_layernorm.weight`),
      q: await mat(`${p}self_attn.q_proj.weight`), k: await mat(`${p}self_attn.k_proj.weight`),
      v: await mat(`${p}self_attn.v_proj.weight`), o: await mat(`${p}self_attn.o_proj.weight`),
      qb: await opt(`${p}self_attn.q_proj.bias`, f32), kb: await opt(`${p}self_attn.k_proj.bias`, f32),
      vb: await opt(`${p}self_attn.v_proj.bias`, f32), ob: await opt(`${p}self_attn.o_proj.bias`, f32),
      gate: await mat(`${p}mlp.gate_proj.weight`), up: await mat(`${p}mlp.up_proj.weight`), down: await mat(`${p}mlp.down_proj.weight`),
      gateb: await opt(`${p}mlp.gate_proj.bias`, f32), upb: await opt(`${p}mlp.up_proj.bias`, f32), downb: await opt(`${p}mlp.down_proj.bias`, f32),
    });
  }
  const embedName = `${TEXT_PREFIX}embed_tokens.weight`;
  const embed = await mat(embedName);
  const lmHead = ckpt.lmHeadName === embedName ? embed : await mat(ckpt.lmHeadName);
  const text = { embed, layers: textLayers, norm: await f32(`${TEXT_PREFIX}norm.weight`), lmHead };
  return { config, dtype, vision, projector, text, deviceBytes: bytes };
}
