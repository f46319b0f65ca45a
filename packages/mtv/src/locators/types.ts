// What every head locator returns, and the locator names the CLI, the library and fleet jobs accept.
import type { LocatorResult } from '../locate/run.js';

export const LOCATOR_KINDS = ['reinforce', 'sensitivity', 'stv', 'random'] as const;
export type LocatorKind = (typeof LOCATOR_KINDS)[number];

export function parseLocatorKind(v: string): LocatorKind {
  if ((LOCATOR_KINDS as readonly string[]).includes(v)) return v as LocatorKind;
  throw new Error(`unknown locator '${v}'; locators: ${LOCATOR_KINDS.join(', ')}`);
}

/** The per-location value bank of STV: C k-means centres per location, and the centre the policy chose. */
export interface CentreBank {
  /** Number of centres per location (C). */
  readonly clusters: number;
  /** Centres [K, C, headDim], in the order of `locations`. */
  readonly centres: Float32Array;
  /** Chosen centre per location [K]. */
  readonly choice: Int32Array;
}

/** Search cost, counted the same way for every locator. */
export interface SearchCost {
  /** Forward passes: each (prompt, mask) row of a rollout counts one, as the reference recomputes each; plus extra tap passes. */
  readonly forwardPasses: number;
  /** Distinct prompt prefills (a prefix-shared batch of B rows is one). */
  readonly prefills: number;
  readonly seconds: number;
}

/** A located task vector: head locations (flat l * heads + h, ascending) and, for stv, the bank. */
export interface Located {
  readonly locator: LocatorKind;
  /** 0/1 mask [layers * heads]. */
  readonly heads: Uint8Array;
  readonly locations: Int32Array;
  readonly bank: CentreBank | null;
  /** REINFORCE's full result (logits, candidates), when the locator was reinforce. */
  readonly reinforce: LocatorResult | null;
  /** Per-head sensitivity scores [layers * heads] (sensitivity / stv). */
  readonly scores: Float64Array | null;
  /** K and, when K came from the grid, the grid's mean validation CE per K. */
  readonly k: number;
  readonly kGrid: readonly { readonly k: number; readonly loss: number }[];
  readonly selectionLoss: number | null;
  readonly cost: SearchCost;
}

/** Mask [n] with ones at `locations`. */
export function maskOf(locations: ArrayLike<number>, n: number): Uint8Array {
  const m = new Uint8Array(n);
  for (let i = 0; i < locations.length; i++) m[locations[i]!] = 1;
  return m;
}
