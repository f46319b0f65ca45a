// Inference with an MTV (DESIGN.md section 1, step 4): the plain zero-shot query, with the chosen
// heads' o_proj inputs replaced by the means at the last prompt token and every generated token.
import type { GenerateResult, HeadPatch, VisionLanguageModel, PreparedPrompt } from '@mtv/model';
import type { MtvArtifact } from '../artifact/types.js';
import { PipelineError } from '../pipeline/prompts.js';
import { stvValues } from '../locators/stv.js';

export interface TaskVector {
  /** Mean activations [layers, heads, headDim]. */
  readonly means: Float32Array;
  /** Chosen heads [layers * heads], 0/1. */
  readonly heads: Uint8Array;
}

export interface ApplyOptions {
  /** Default: the checkpoint's generation_config.json max_new_tokens, else 20 (the reference's eval). */
  readonly maxNewTokens?: number;
  /** Stop tokens are refused before this many new tokens (default 1, the reference's min_new_tokens). */
  readonly minNewTokens?: number;
  readonly stopTokens?: readonly number[];
}

/**
 * The task vector of an artifact; refuses one without located heads. For an STV artifact the patch
 * values are the means with each location's chosen bank centre in place of its mean.
 */
export function taskVector(a: MtvArtifact, file = 'artifact'): TaskVector {
  if (!a.heads) throw new PipelineError(`${file}: has no heads (run \`mtv locate\` first)`);
  const means = a.sums.means();
  const bank = a.locator?.bank;
  if (!bank) return { means, heads: a.heads };
  return { means: stvValues(means, a.locator!.locations, bank.centres, bank.clusters, bank.choice, a.sums.shape[2]), heads: a.heads };
}

/** Checks the vector against the model's [layers, heads, headDim] and returns the patch. */
export function headPatch(model: VisionLanguageModel, v: TaskVector): HeadPatch {
  const [L, H, D] = model.headShape;
  if (v.means.length !== L * H * D) throw new PipelineError(`MTV means have ${v.means.length} values; the model's heads are [${L}, ${H}, ${D}] = ${L * H * D}`);
  if (v.heads.length !== L * H) throw new PipelineError(`MTV head mask has ${v.heads.length} entries; the model has ${L} layers x ${H} heads = ${L * H}`);
  return { values: v.means, mask: v.heads };
}

/**
 * Default stop ids: the tokenizer's end ids plus the ids of the model's padded vocabulary rows that
 * the tokenizer does not have (llava-1.5: 32064 rows, 32002 tokens). Such an id cannot be decoded; a
 * model that produces one has left the answer.
 */
export function defaultStopTokens(model: VisionLanguageModel): number[] {
  const known = model.tokenizer.vocabSize;
  const rows = model.config.text.vocabSize;
  return [...model.tokenizer.eosTokenIds, ...Array.from({ length: Math.max(0, rows - known) }, (_, i) => known + i)];
}

/** The reference's eval generation (mtv_eval.py: max_new_tokens=20, min_new_tokens=1). */
export const DEFAULT_MAX_NEW_TOKENS = 20;
export const DEFAULT_MIN_NEW_TOKENS = 1;

/** Greedy generation, with the MTV patched in when `vector` is given (null: plain generation). */
export function generateWith(model: VisionLanguageModel, prepared: PreparedPrompt, vector: TaskVector | null, opts: ApplyOptions = {}): Promise<GenerateResult> {
  return model.generate(prepared, {
    maxNewTokens: opts.maxNewTokens ?? model.tokenizer.generationMaxNewTokens ?? DEFAULT_MAX_NEW_TOKENS,
    minNewTokens: opts.minNewTokens ?? DEFAULT_MIN_NEW_TOKENS,
    stopTokens: opts.stopTokens ?? defaultStopTokens(model),
    ...(vector ? { patch: headPatch(model, vector) } : {}),
  });
}

/** Prepares `text` + `images` and generates with the MTV. */
export async function applyMtv(model: VisionLanguageModel, input: { text: string; images?: readonly string[] }, vector: TaskVector, opts: ApplyOptions = {}): Promise<GenerateResult> {
  const prepared = await model.prepare({ text: input.text, images: input.images ?? [] });
  return generateWith(model, prepared, vector, opts);
}
