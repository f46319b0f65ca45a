// The trainable parameters as views into four flat GPU buffers (weights, grads, Adam m, Adam v).
// Tensors are named and shaped by @mtv/model's expectedTensors, so the saved checkpoint carries
// exactly the names the loader expects. Matrices (weight decay) come first, then vectors/embeddings.
import { Tensor, type Gpu } from '@mtv/kernels';
import { expectedTensors, type LlavaConfig } from '@mtv/model';
import { Rng } from '../tasks/rng.js';

/** Each view starts on a 256-byte boundary (the storage-offset alignment). */
const ALIGN = 64;

export interface ParamSpec {
  name: string;
  shape: number[];
  /** Offset in floats inside the flat buffers. */
  offset: number;
  size: number;
  decay: boolean;
}

const isMatrix = (name: string, shape: readonly number[]): boolean => shape.length >= 2 && !name.endsWith('embed_tokens.weight') && !name.endsWith('position_embedding.weight');

/** Every tensor of the checkpoint (post_layernorm included: it is stored but never trained). */
export function paramSpecs(config: LlavaConfig): { specs: ParamSpec[]; decayCount: number; total: number } {
  const list = expectedTensors(config).filter((t) => t.required || t.name.includes('post_layernorm'));
  const ordered = [...list.filter((t) => isMatrix(t.name, t.shape)), ...list.filter((t) => !isMatrix(t.name, t.shape))];
  let off = 0;
  let decayCount = 0;
  const specs = ordered.map((t) => {
    const size = t.shape.reduce((a, b) => a * b, 1);
    const decay = isMatrix(t.name, t.shape);
    const s: ParamSpec = { name: t.name, shape: t.shape, offset: off, size, decay };
    off += Math.ceil(size / ALIGN) * ALIGN;
    if (decay) decayCount = off;
    return s;
  });
  return { specs, decayCount, total: off };
}

function gaussian(r: Rng): number {
  const u = Math.max(r.next(), 1e-12);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * r.next());
}

/**
 * Initial values: norm weights 1 and biases 0; linear weights N(0, 1/fan_in), the residual-branch
 * outputs (o_proj, down_proj, out_proj, fc2) scaled by 1/sqrt(2·layers) (GPT-2); token embeddings
 * N(0, 1) (RMSNorm follows), lm_head N(0, 0.25/H), CLIP class/position embeddings N(0, 1/d)·small.
 */
export function initialValues(config: LlavaConfig, specs: readonly ParamSpec[], seed: number): Float32Array {
  const total = specs.reduce((m, s) => Math.max(m, s.offset + Math.ceil(s.size / ALIGN) * ALIGN), 0);
  const out = new Float32Array(total);
  const r = new Rng(seed);
  for (const s of specs) {
    const n = s.name;
    let value: () => number;
    if (/(norm\d?|layrnorm|layernorm)\.weight$/.test(n)) value = () => 1;
    else if (n.endsWith('.bias')) value = () => 0;
    else if (n.endsWith('embed_tokens.weight')) value = () => gaussian(r);
    else if (n === 'lm_head.weight') value = () => gaussian(r) * 0.5 / Math.sqrt(config.text.hiddenSize);
    else if (n.endsWith('class_embedding')) value = () => gaussian(r) / Math.sqrt(config.vision.hiddenSize);
    else if (n.endsWith('position_embedding.weight')) value = () => gaussian(r) * 0.1;
    else {
      const fanIn = s.shape.slice(1).reduce((a, b) => a * b, 1);
      const layers = n.includes('vision_tower') ? config.vision.numLayers : config.text.numLayers;
      const resid = /(o_proj|down_proj|out_proj|fc2)\.weight$/.test(n) ? 1 / Math.sqrt(2 * layers) : 1;
      const std = resid / Math.sqrt(fanIn);
      value = () => gaussian(r) * std;
    }
    for (let i = 0; i < s.size; i++) out[s.offset + i] = value();
  }
  return out;
}

export class ParamStore {
  readonly byName = new Map<string, ParamSpec>();
  readonly w: Tensor;
  readonly g: Tensor;
  readonly m: Tensor;
  readonly v: Tensor;
  readonly total: number;
  readonly decayCount: number;

  constructor(readonly gpu: Gpu, readonly config: LlavaConfig, readonly specs: ParamSpec[], decayCount: number, total: number, values: Float32Array) {
    for (const s of specs) this.byName.set(s.name, s);
    this.total = total;
    this.decayCount = decayCount;
    if (values.length !== total) throw new Error(`ParamStore: ${values.length} initial values for ${total} parameter slots`);
    this.w = gpu.upload(values, [total], 'f32', { label: 'params', persistent: true });
    this.g = gpu.zeros([total], 'f32', 'grads');
    this.m = gpu.zeros([total], 'f32', 'adam.m');
    this.v = gpu.zeros([total], 'f32', 'adam.v');
  }

  static create(gpu: Gpu, config: LlavaConfig, seed: number): ParamStore {
    const { specs, decayCount, total } = paramSpecs(config);
    return new ParamStore(gpu, config, specs, decayCount, total, initialValues(config, specs, seed));
  }

  spec(name: string): ParamSpec {
    const s = this.byName.get(name);
    if (!s) throw new Error(`ParamStore: no parameter '${name}' (have ${this.specs.length}, e.g. ${this.specs[0]?.name})`);
    return s;
  }

  private view(buf: Tensor, name: string, shape?: readonly number[]): Tensor {
    const s = this.spec(name);
    const sh = shape ?? (s.shape.length > 2 ? [s.shape[0]!, s.size / s.shape[0]!] : s.shape);
    return new Tensor(buf.buffer, sh, 'f32', null, buf.byteOffset + s.offset * 4);
  }

  /** The weight as a 2-D (matrices; conv kernels flattened to [out, C·p·p]) or 1-D view. */
  weight(name: string): Tensor {
    return this.view(this.w, name);
  }

  grad(name: string): Tensor {
    return this.view(this.g, name);
  }

  /** Number of trained values (alignment padding excluded). */
  get count(): number {
    return this.specs.reduce((a, s) => a + s.size, 0);
  }

  /** Weights read back as name -> values. */
  async read(): Promise<Map<string, Float32Array>> {
    const all = await this.gpu.readF32(this.w);
    return new Map(this.specs.map((s) => [s.name, all.slice(s.offset, s.offset + s.size)]));
  }

  async readFlat(buf: 'w' | 'g' | 'm' | 'v'): Promise<Float32Array> {
    return this.gpu.readF32(this[buf]);
  }

  /** Replaces the weights (and optionally Adam state) from host arrays of the full flat length. */
  load(w: Float32Array, m?: Float32Array, v?: Float32Array): void {
    this.gpu.write(this.w, w);
    if (m) this.gpu.write(this.m, m);
    if (v) this.gpu.write(this.v, v);
  }
}
