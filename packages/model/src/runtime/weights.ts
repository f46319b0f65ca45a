// Model weights on the device, uploaded once per (device, checkpoint, dtype) and shared by every
// session in the process. Matmul weights may stay packed f16 (half the memory, unpacked in the
// matmul kernel); norms, biases and embeddings are f32. The decoder's weights are read here, the
// vision tower's and connector's by the family (ModelFamily.uploadVision).
import type { Gpu, Tensor } from '@mtv/kernels';
import type { ModelConfig } from '../families/registry.js';
import type { WeightUploader } from '../families/types.js';
import type { Checkpoint } from '../weights/checkpoint.js';
import { TEXT_PREFIX } from '../weights/names.js';

export type WeightDtype = 'f32' | 'f16';

export interface TextLayerWeights {
  inNorm: Tensor; postNorm: Tensor;
  q: Tensor; k: Tensor; v: Tensor; o: Tensor;
  qb: Tensor | null; kb: Tensor | null; vb: Tensor | null; ob: Tensor | null;
  gate: Tensor; up: Tensor; down: Tensor;
  gateb: Tensor | null; upb: Tensor | null; downb: Tensor | null;
}

export interface ModelWeights {
  config: ModelConfig;
  dtype: WeightDtype;
  /** The family's vision tower + connector weights (ModelFamily.uploadVision). */
  vision: unknown;
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

  const up: WeightUploader = {
    has: (name) => ckpt.has(name),
    shape: (name) => ckpt.shape(name),
    f32,
    mat,
    readF32: (name) => ckpt.readF32(name),
  };
  const vision = await ckpt.family.uploadVision(up, config);
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
  return { config, dtype, vision, text, deviceBytes: bytes };
}
