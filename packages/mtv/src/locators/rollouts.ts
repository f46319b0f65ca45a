// Rollouts for the locators beyond REINFORCE, with their cost counted.
//   valuesEvaluator: CE of the first answer token of a zero-shot query with `values` patched in at the
//     masked heads, through the prefix-shared batch (model.prefixBatch). The model's prefixBatch shares
//     one values tensor across its rows, so STV samples with different centres are one call (one
//     prefill) each; masks sharing values run as rows of one call.
import type { PreparedPrompt, VisionLanguageModel } from '@mtv/model';
import type { Example } from '../datasets/types.js';
import type { RolloutEvaluator, RolloutQuery } from '../locate/run.js';
import type { PromptOptions } from '../prompts/formats.js';
import type { DatasetFormat } from '../datasets/types.js';
import { PipelineError, firstAnswerToken, prepare, zeroShotPrompt } from '../pipeline/prompts.js';

export interface CostCounter {
  rows: number;
  prefills: number;
}

export type ValuesEvaluator<Q> = (query: RolloutQuery<Q>, values: Float32Array, masks: readonly Uint8Array[]) => Promise<Float64Array>;

export function valuesEvaluator(model: VisionLanguageModel, opts: { format: DatasetFormat; prompt?: PromptOptions; cost: CostCounter }): ValuesEvaluator<Example> {
  const cache = new Map<string, { prepared: PreparedPrompt; target: number }>();
  return async (query, values, masks) => {
    const key = `${query.item.id}\u0000${query.variant}`;
    let r = cache.get(key);
    if (!r) {
      const prompt = zeroShotPrompt(opts.format, query.item, query.variant, opts.prompt);
      r = { prepared: await prepare(model, prompt), target: firstAnswerToken(model, prompt) };
      if (cache.size >= 256) cache.delete(cache.keys().next().value!);
      cache.set(key, r);
    }
    const ce = await model.prefixBatch(r.prepared, values, masks, { target: r.target });
    if (ce.length !== masks.length) throw new PipelineError(`rollouts: prefixBatch returned ${ce.length} losses for ${masks.length} masks`);
    opts.cost.rows += masks.length;
    opts.cost.prefills += 1;
    return Float64Array.from(ce);
  };
}

/** A fixed-values evaluator (the means) in the RolloutEvaluator shape. */
export const withValues = <Q>(ev: ValuesEvaluator<Q>, values: Float32Array): RolloutEvaluator<Q> => (q, masks) => ev(q, values, masks);
