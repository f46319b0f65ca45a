// The MTV artifact: mean activations (with the exact sums they came from), the REINFORCE Bernoulli
// logits, the chosen heads, and where it all came from.
import type { ActivationSums } from '../activations/sums.js';

/** One activation-collection run that contributed to the sums. */
export interface RunRecord {
  readonly datasetHash: string;
  readonly shots: number;
  /** Rounds [firstRound, firstRound + rounds) of the (seed, round) sampling streams. */
  readonly firstRound: number;
  readonly rounds: number;
  readonly seed: number | string;
  /** The fixed shard size the sums were merged with (activations/sums.ts). */
  readonly shardSize: number;
}

export interface MtvProvenance {
  readonly modelId: string;
  /** Checkpoint.hash() of the model the activations were tapped from. */
  readonly modelHash: string;
  /** @mtv/mtv version that wrote the artifact. */
  readonly codeVersion: string;
  readonly runs: readonly RunRecord[];
  /**
   * Where `heads`/`logits` come from: 'located' by REINFORCE on exactly these means; 'inherited' when
   * the means changed afterwards (merge/extend kept an older mask: re-locate for the paper's method);
   * 'none' when no heads are set.
   */
  readonly heads: 'located' | 'inherited' | 'none';
  /** Free-form notes (locator seed and settings, selection loss, ...). */
  readonly notes?: Readonly<Record<string, string | number | boolean>>;
}

/**
 * Which locator chose the heads and, for STV, the bank of centres per location and the chosen one.
 * Absent on artifacts written before the locators (they are REINFORCE's).
 */
export interface ArtifactLocator {
  readonly kind: 'reinforce' | 'sensitivity' | 'stv' | 'random';
  /** Chosen locations, flat layer * heads + head, ascending (the ones of `heads`). */
  readonly locations: Int32Array;
  /** STV only: C centres per location [K, C, headDim] and the chosen centre per location [K]. */
  readonly bank: { readonly clusters: number; readonly centres: Float32Array; readonly choice: Int32Array } | null;
}

export interface MtvArtifact {
  readonly sums: ActivationSums;
  /** REINFORCE Bernoulli logits [layers * heads] (null before locating). */
  readonly logits: Float32Array | null;
  /** Chosen heads [layers * heads], 0/1 (null before locating). */
  readonly heads: Uint8Array | null;
  readonly provenance: MtvProvenance;
  /** Absent / null: REINFORCE (or no heads). */
  readonly locator?: ArtifactLocator | null;
}

export class ArtifactError extends Error {
  constructor(readonly file: string, message: string) {
    super(`MTV artifact ${file}: ${message}`);
    this.name = 'ArtifactError';
  }
}
