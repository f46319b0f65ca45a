// Rollout evaluators for the REINFORCE locator: cross-entropy of the first answer token of a zero-shot
// query, per head mask, with the masked heads' o_proj inputs at the last prompt token replaced by the
// mean activations.
//   prefix: model.prefixBatch — the prompt minus its last token is prefilled once and the last token
//           runs as one row per mask (DESIGN.md section 2). Cost ~ 1 prompt + B tokens.
//   naive:  one full forward per mask plus a host log-softmax, as the reference's forward hooks do.
//           Cost ~ B prompts. Kept as the reference to test the prefix path against and to benchmark.
import type { VisionLanguageModel, PreparedPrompt } from '@mtv/model';
import type { DatasetFormat, Example } from '../datasets/types.js';
import type { RolloutEvaluator } from '../locate/run.js';
import type { PromptOptions } from '../prompts/formats.js';
import { PipelineError, firstAnswerToken, prepare, zeroShotPrompt } from '../pipeline/prompts.js';

export type RolloutMode = 'prefix' | 'naive';

export interface RolloutOptions {
  readonly format: DatasetFormat;
  /** Mean activations [layers, heads, headDim] patched into the masked heads. */
  readonly means: Float32Array;
  readonly mode?: RolloutMode;
  readonly prompt?: PromptOptions;
  /** Max prepared prompts kept (keyed by example id and variant); default 256. */
  readonly cacheSize?: number;
}

/** Cross-entropy -log softmax(logits)[target], in float64 with the max subtracted. */
export function crossEntropyHost(logits: ArrayLike<number>, target: number): number {
  if (!(target >= 0 && target < logits.length)) throw new PipelineError(`cross-entropy: target id ${target} is outside the ${logits.length} logits`);
  let max = -Infinity;
  for (let i = 0; i < logits.length; i++) max = Math.max(max, logits[i]!);
  let s = 0;
  for (let i = 0; i < logits.length; i++) s += Math.exp(logits[i]! - max);
  return Math.log(s) + max - logits[target]!;
}

interface Rollout {
  readonly prepared: PreparedPrompt;
  readonly target: number;
}

export function rolloutEvaluator(model: VisionLanguageModel, opts: RolloutOptions): RolloutEvaluator<Example> {
  const [L, H, D] = model.headShape;
  if (opts.means.length !== L * H * D) throw new PipelineError(`rollouts: means have ${opts.means.length} values; the model's heads are [${L}, ${H}, ${D}] = ${L * H * D}`);
  const mode = opts.mode ?? 'prefix';
  const cap = opts.cacheSize ?? 256;
  const cache = new Map<string, Rollout>();
  const rollout = async (item: Example, variant: number): Promise<Rollout> => {
    const key = `${item.id}\u0000${variant}`;
    let r = cache.get(key);
    if (!r) {
      const prompt = zeroShotPrompt(opts.format, item, variant, opts.prompt);
      r = { prepared: await prepare(model, prompt), target: firstAnswerToken(model, prompt) };
      if (cache.size >= cap) cache.delete(cache.keys().next().value!);
      cache.set(key, r);
    }
    return r;
  };
  return async (query, masks) => {
    const { prepared, target } = await rollout(query.item, query.variant);
    if (mode === 'prefix') {
      const ce = await model.prefixBatch(prepared, opts.means, masks, { target });
      if (ce.length !== masks.length) throw new PipelineError(`rollouts: prefixBatch returned ${ce.length} losses for ${masks.length} masks`);
      return Float64Array.from(ce);
    }
    const out = new Float64Array(masks.length);
    for (let k = 0; k < masks.length; k++) {
      const { logits } = await model.forward(prepared, { patch: { values: opts.means, mask: masks[k]! } });
      out[k] = crossEntropyHost(logits, target);
    }
    return out;
  };
}
