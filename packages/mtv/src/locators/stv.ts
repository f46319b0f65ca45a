// STV's "what": at each located head a bank of C k-means centres of that head's per-round ICL
// activations, and a categorical policy per location choosing one centre, trained by REINFORCE with
// MTV's z-scored rollout losses (zScore of locate/reinforce.ts), Adam as there. Pure state transitions
// so a coordinator can own the state and hand rollouts to workers; randomness keyed by (seed, step).
// Final choice: the most probable centre per location (ties: the lowest index).
import { Prng } from '../sampling/prng.js';
import { adamStep, zScore } from '../locate/reinforce.js';
import { kmeans } from './kmeans.js';
import type { RoundStats } from './round-stats.js';

export const DEFAULT_STV = { clusters: 32, steps: 40, samplesPerStep: 16, lr: 0.1, zEps: 1e-3 } as const;

export interface StvConfig {
  readonly seed: number | string;
  /** Locations (K) and centres per location (C). */
  readonly locations: number;
  readonly clusters: number;
  readonly steps: number;
  readonly samplesPerStep: number;
  readonly lr: number;
}

export interface StvState {
  readonly config: StvConfig;
  readonly step: number;
  /** Policy logits [K, C]. */
  readonly logits: Float64Array;
  readonly m: Float64Array;
  readonly v: Float64Array;
}

export interface StvProposal {
  readonly step: number;
  readonly queryIndex: number;
  readonly variant: number;
  /** samplesPerStep choices, each [K] centre indices. */
  readonly choices: readonly Int32Array[];
}

export function initStvState(c: StvConfig): StvState {
  if (!Number.isInteger(c.samplesPerStep) || c.samplesPerStep < 2) throw new Error(`stv: samples per step must be an integer >= 2 (the z-score needs a sample std), got ${c.samplesPerStep}`);
  if (!Number.isInteger(c.steps) || c.steps < 0) throw new Error(`stv: steps must be a non-negative integer, got ${c.steps}`);
  const n = c.locations * c.clusters;
  return { config: c, step: 0, logits: new Float64Array(n), m: new Float64Array(n), v: new Float64Array(n) };
}

/** Softmax of each location's row of logits [K, C]. */
export function stvProbabilities(s: StvState): Float64Array {
  const { locations: K, clusters: C } = s.config;
  const p = new Float64Array(K * C);
  for (let k = 0; k < K; k++) {
    let max = -Infinity;
    for (let c = 0; c < C; c++) max = Math.max(max, s.logits[k * C + c]!);
    let z = 0;
    for (let c = 0; c < C; c++) z += p[k * C + c] = Math.exp(s.logits[k * C + c]! - max);
    for (let c = 0; c < C; c++) p[k * C + c]! /= z;
  }
  return p;
}

export function proposeStv(s: StvState, reinforceSetSize: number): StvProposal {
  const c = s.config;
  if (s.step >= c.steps) throw new Error(`proposeStv: all ${c.steps} steps are done`);
  const rng = Prng.derive(c.seed, 'stv-step', s.step);
  const queryIndex = rng.int(reinforceSetSize);
  const variant = rng.nextU32();
  const p = stvProbabilities(s);
  const choices = Array.from({ length: c.samplesPerStep }, () => {
    const ch = new Int32Array(c.locations);
    for (let k = 0; k < c.locations; k++) {
      const u = rng.nextFloat();
      let acc = 0;
      let pick = c.clusters - 1;
      for (let j = 0; j < c.clusters; j++) {
        acc += p[k * c.clusters + j]!;
        if (u < acc) {
          pick = j;
          break;
        }
      }
      ch[k] = pick;
    }
    return ch;
  });
  return { step: s.step, queryIndex, variant, choices };
}

/** Policy loss sum_s z_s log pi(choice_s); gradient w.r.t. logit[k, c] = sum_s z_s (1[choice_sk = c] - p_kc). Adam descends it. */
export function applyStvLosses(s: StvState, p: StvProposal, losses: ArrayLike<number>): StvState {
  const c = s.config;
  if (p.step !== s.step) throw new Error(`applyStvLosses: proposal is for step ${p.step}, state is at step ${s.step}`);
  if (losses.length !== p.choices.length) throw new Error(`applyStvLosses: ${losses.length} losses for ${p.choices.length} samples (step ${p.step})`);
  for (let i = 0; i < losses.length; i++) if (!Number.isFinite(losses[i])) throw new Error(`applyStvLosses: loss of sample ${i} at step ${p.step} is ${losses[i]}`);
  const z = zScore(losses, DEFAULT_STV.zEps);
  const prob = stvProbabilities(s);
  const grad = new Float64Array(prob.length);
  p.choices.forEach((ch, i) => {
    for (let k = 0; k < c.locations; k++) {
      for (let j = 0; j < c.clusters; j++) grad[k * c.clusters + j] += z[i]! * ((ch[k] === j ? 1 : 0) - prob[k * c.clusters + j]!);
    }
  });
  const logits = s.logits.slice();
  const m = s.m.slice();
  const v = s.v.slice();
  adamStep({ lr: c.lr, beta1: 0.9, beta2: 0.999, adamEps: 1e-8 }, s.step + 1, logits, m, v, grad);
  return { config: c, step: s.step + 1, logits, m, v };
}

export function finalStvChoice(s: StvState): Int32Array {
  const { locations: K, clusters: C } = s.config;
  const out = new Int32Array(K);
  for (let k = 0; k < K; k++) {
    let best = 0;
    for (let j = 1; j < C; j++) if (s.logits[k * C + j]! > s.logits[k * C + best]!) best = j;
    out[k] = best;
  }
  return out;
}

/** The bank: C centres per location [K, C, D], k-means over the kept rounds of each location. */
export function buildBank(stats: RoundStats, locations: Int32Array, clusters: number, seed: number | string): Float32Array {
  const D = stats.shape[2];
  const kept = stats.keptRounds.length;
  if (clusters > kept) throw new Error(`stv: clusters C = ${clusters} is larger than the ${kept} activation rounds kept for clustering (rounds and reservoir size bound it); lower --clusters or raise --rounds`);
  const out = new Float32Array(locations.length * clusters * D);
  locations.forEach((loc, k) => out.set(kmeans(stats.locationTaps(loc), clusters, { seed, stream: loc }), k * clusters * D));
  return out;
}

/** Patch values [L, H, D]: the means, with each location's chosen centre in place of its mean. */
export function stvValues(means: Float32Array, locations: ArrayLike<number>, centres: Float32Array, clusters: number, choice: ArrayLike<number>, headDim: number): Float32Array {
  const out = Float32Array.from(means);
  for (let k = 0; k < locations.length; k++) {
    const c = choice[k]!;
    if (!(Number.isInteger(c) && c >= 0 && c < clusters)) throw new Error(`stv: chosen centre ${c} of location ${k} is outside [0, ${clusters})`);
    out.set(centres.subarray((k * clusters + c) * headDim, (k * clusters + c + 1) * headDim), locations[k]! * headDim);
  }
  return out;
}
