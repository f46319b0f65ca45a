// Canonical parameter names of the shared decoder, the same for every family: each family maps its
// on-disk names onto these (families/<family>/weights.ts), so one decoder reads every checkpoint.

export const TEXT_PREFIX = 'model.language_model.';
export const LM_HEAD = 'lm_head.weight';

/** Buffers some exporters store that carry no weights. */
export const isIgnoredName = (name: string): boolean => name.endsWith('.rotary_emb.inv_freq') || name.endsWith('.position_ids');
