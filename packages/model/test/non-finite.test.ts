// Non-finite values (issue 11, item 6): NaN or Inf weights are refused at load, naming the tensor
// (checked once per tensor as it is converted, also after rounding to f16); non-finite patch values
// are refused; generation stops on non-finite logits with an error naming the layer it came from.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { Gpu } from '@mtv/kernels';
import {
  CheckpointError, loadModel, type VisionLanguageModel, NonFiniteError, SafetensorsFile, encodeFloats, firstNonFinite, firstNonFiniteF16Packed, openCheckpoint,
  writeSafetensors, writeTinyCheckpoint, type TensorInput, type TinyDType,
} from '../src/index.js';
import { useTempDir } from './temp-dir.js';

let root = '';
useTempDir('mtv-nonfinite-', (d) => (root = d));
let gpu: Gpu;
beforeAll(async () => {
  gpu = await Gpu.create();
});
afterAll(() => gpu?.destroy());

let n = 0;
/** A tiny siglip-qwen2 checkpoint (3 text layers) whose tensor `name` (on-disk, new naming) is rewritten by `edit`. */
async function tinyWith(name: string, edit: (v: Float32Array) => void, dtype: TinyDType = 'F32'): Promise<string> {
  const dir = join(root, `ck${n++}`);
  await writeTinyCheckpoint(dir, { family: 'siglip-qwen2', naming: 'new', dtype, seed: 2 });
  const path = join(dir, 'model.safetensors');
  const f = await SafetensorsFile.open(path);
  const m = new Map<string, TensorInput>();
  for (const k of f.names()) {
    const { dtype: dt, shape } = f.info(k);
    if (k === name) {
      const v = await f.readF32(k);
      edit(v);
      m.set(k, { dtype: dt, shape, data: encodeFloats(v, dt as TinyDType) });
    } else m.set(k, { dtype: dt, shape, data: await f.readBytes(k) });
  }
  await f.close();
  if (!m.has(name)) throw new Error(`no tensor ${name} in ${[...m.keys()].join(', ')}`);
  await writeSafetensors(path, m, { format: 'pt' });
  return dir;
}

async function loadError(dir: string, weightDtype: 'f16' | 'f32' = 'f16'): Promise<Error> {
  try {
    const m = await loadModel(dir, { gpu, weightDtype });
    await m.close();
  } catch (e) {
    return e as Error;
  }
  throw new Error(`expected ${dir} to fail to load`);
}

const Q1 = 'model.language_model.layers.1.self_attn.q_proj.weight';
const NORM = 'model.language_model.layers.0.input_layernorm.weight';

describe('non-finite weights', () => {
  it('the scans find the first NaN / Inf (f32, f64, packed f16 halves)', () => {
    expect(firstNonFinite(Float32Array.from([0, 1, -3e38, 5]))).toBe(-1);
    expect(firstNonFinite(Float32Array.from([0, 1, Infinity, NaN]))).toBe(2);
    expect(firstNonFinite(Float64Array.from([0, NaN]))).toBe(1);
    // 0x7c00 = +Inf, 0x7e00 = NaN, 0x3c00 = 1; low half first.
    expect(firstNonFiniteF16Packed(Uint32Array.from([0x3c003c00, 0x7e003c00]), 4)).toBe(3);
    expect(firstNonFiniteF16Packed(Uint32Array.from([0x3c003c00, 0x00007c00]), 3)).toBe(2);
    expect(firstNonFiniteF16Packed(Uint32Array.from([0x3c003c00]), 2)).toBe(-1);
    // Past the first 4096-element scan block, and the exact index inside the block.
    const big = new Float32Array(10_000).fill(-1.5);
    big[9001] = -Infinity;
    expect(firstNonFinite(big)).toBe(9001);
    const words = new Uint32Array(6000).fill(0x3c00bc00);
    words[4500] = 0xfc003c00; // high half of word 4500 = -Inf
    expect(firstNonFiniteF16Packed(words, 12_000)).toBe(9001);
  });

  it('a NaN in an f32 norm weight is refused at load, naming the file, the tensor and the element', async () => {
    const dir = await tinyWith(NORM, (v) => (v[5] = NaN));
    for (const dt of ['f16', 'f32'] as const) {
      const e = await loadError(dir, dt);
      expect(e).toBeInstanceOf(CheckpointError);
      expect(e.message).toContain(join(dir, 'model.safetensors'));
      expect(e.message).toContain(`tensor '${NORM}'`);
      expect(e.message).toMatch(/element 5 of 64 .* is NaN; weights must be finite/);
    }
  });

  it('an Inf in an F16 matmul weight is refused whether kept packed or converted to f32', async () => {
    const dir = await tinyWith(Q1, (v) => (v[7] = -Infinity), 'F16');
    for (const dt of ['f16', 'f32'] as const) {
      const e = await loadError(dir, dt);
      expect(e.message).toContain(`tensor '${Q1}'`);
      expect(e.message).toMatch(/element 7 of \d+ .*F16\) is -Infinity/);
    }
  });

  it('a finite f32 weight beyond the f16 range is refused for f16 weights, with the way out, and loads as f32', async () => {
    const dir = await tinyWith(Q1, (v) => (v[3] = 1e6));
    const e = await loadError(dir, 'f16');
    expect(e.message).toMatch(/element 3 of 4096 \(shape \[64, 64\], F32\) is 1000000, which overflows f16 when rounded for the device \(f16 holds up to ±65504; --weights f32 keeps it\)/);
    const ck = await openCheckpoint(dir);
    await expect(ck.readF32('model.language_model.layers.1.self_attn.q_proj.weight')).resolves.toHaveLength(64 * 64);
    await ck.close();
  });
});

describe('non-finite activations', () => {
  async function model(name: string, value: number): Promise<VisionLanguageModel> {
    return loadModel(await tinyWith(name, (v) => v.fill(value)), { gpu, weightDtype: 'f32' });
  }
  const TEXT = '<|im_start|>user What is this? <|im_end|> <|im_start|>assistant';

  it('overflowing attention in layer 1 stops generation with an error naming layer 1', async () => {
    const m = await model(Q1, 3e38);
    try {
      const p = await m.prepare({ text: TEXT });
      const e = await m.generate(p, { maxNewTokens: 4 }).then(() => null, (x: Error) => x);
      expect(e).toBeInstanceOf(NonFiniteError);
      expect((e as NonFiniteError).layer).toBe(1);
      expect(e!.message).toMatch(/generation step 0: logit \d+ .* not finite; first at layer 1's attention heads/);
    } finally {
      await m.close();
    }
  });

  it('an overflow after the last attention (layer 2 MLP) is reported as such', async () => {
    const m = await model('model.language_model.layers.2.mlp.down_proj.weight', 3e38);
    try {
      const e = await m.generate(await m.prepare({ text: TEXT }), { maxNewTokens: 4 }).then(() => null, (x: Error) => x);
      expect(e).toBeInstanceOf(NonFiniteError);
      expect((e as NonFiniteError).layer).toBeNull();
      expect(e!.message).toMatch(/arose after layer 2's attention/);
    } finally {
      await m.close();
    }
  });

  it('non-finite patch values are refused, naming the layer and head', async () => {
    const dir = join(root, 'clean');
    await writeTinyCheckpoint(dir, { family: 'siglip-qwen2', seed: 2 });
    const m = await loadModel(dir, { gpu });
    try {
      const [L, H, D] = m.headShape;
      const values = new Float32Array(L * H * D);
      values[1 * H * D + 2 * D + 3] = NaN;
      const e = await m.generate(await m.prepare({ text: TEXT }), { maxNewTokens: 2, patch: { values, mask: new Uint8Array(L * H).fill(1) } }).then(() => null, (x: Error) => x);
      expect(e).toBeInstanceOf(NonFiniteError);
      expect(e!.message).toMatch(/layer 1, head 2\) is NaN/);
      // The same model generates normally with finite values.
      values.fill(0);
      await expect(m.generate(await m.prepare({ text: TEXT }), { maxNewTokens: 2 })).resolves.toBeTruthy();
    } finally {
      await m.close();
    }
  });
});
