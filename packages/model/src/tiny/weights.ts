// Seeded random weights for a tiny checkpoint, scaled so activations stay O(1): linear weights are
// uniform with variance 1/fan_in (a = sqrt(3 / fan_in)), norm weights near 1, biases small.
import { rng } from '@mtv/kernels';
import type { ExpectedTensor } from '../families/types.js';

export interface TinyTensor {
  name: string;
  shape: number[];
  values: Float32Array;
}

// layer_norm1, pre_layrnorm, post_layernorm, input_layernorm, norm, input_latents_norm, ...
const isNormWeight = (name: string): boolean => /norm\d?\.weight$/.test(name);

/**
 * Every tensor of a family's expected list (vision layers past the selected one and post_layernorm
 * included; lm_head only when untied), in canonical names and expected-list order. One PRNG stream in
 * that order, so naming, sharding and dtype never change the values.
 */
export function tinyTensors(expected: readonly ExpectedTensor[], seed: number): TinyTensor[] {
  const next = rng(seed);
  const uniform = (a: number): number => (2 * next() - 1) * a;
  const out: TinyTensor[] = [];
  for (const { name, shape, required } of expected) {
    if (name === 'lm_head.weight' && !required) continue; // tied: not stored, like llava-interleave
    const n = shape.reduce((a, b) => a * b, 1);
    const values = new Float32Array(n);
    let gen: () => number;
    if (isNormWeight(name)) gen = () => 1 + uniform(0.1);
    else if (name.endsWith('.bias')) gen = () => uniform(0.1);
    else if (name.endsWith('class_embedding') || name.endsWith('embed_tokens.weight') || name.endsWith('.latents')) gen = () => uniform(1);
    else if (name.endsWith('position_embedding.weight')) gen = () => uniform(0.5);
    else {
      const fanIn = shape.slice(1).reduce((a, b) => a * b, 1); // [out, in] or conv [out, C, p, p]
      const a = Math.sqrt(3 / fanIn);
      gen = () => uniform(a);
    }
    for (let i = 0; i < n; i++) values[i] = gen();
    out.push({ name, shape, values });
  }
  return out;
}
