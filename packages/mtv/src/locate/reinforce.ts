// The REINFORCE head locator as pure state transitions, so a coordinator can own the state, hand the
// rollouts to workers in between, and checkpoint anywhere:
//   const p = proposeMasks(state, reinforceSetSize);   // query + 32 masks
//   const losses = await <CE of the first answer token for each mask>;
//   state = applyLosses(state, p, losses);
// Randomness comes from streams keyed by (seed, purpose, step), so the state needs no PRNG words and
// a resumed run draws exactly what the uninterrupted run would have.
import { Prng } from '../sampling/prng.js';
import { resolveLocatorConfig, type LocatorConfig, type LocatorConfigInput } from './config.js';

export interface LocatorState {
  readonly config: LocatorConfig;
  /** Completed optimisation steps. */
  readonly step: number;
  /** Bernoulli logits [layers * heads], layer-major. */
  readonly logits: Float64Array;
  /** Adam first and second moments. */
  readonly m: Float64Array;
  readonly v: Float64Array;
}

export interface StepProposal {
  /** The step index this proposal belongs to (= state.step when proposed). */
  readonly step: number;
  /** Index into the REINFORCE set of this step's zero-shot query. */
  readonly queryIndex: number;
  /** u32 for per-query prompt choices (2-way option order). */
  readonly variant: number;
  /** samplesPerStep masks, each [layers * heads] of 0/1. */
  readonly masks: readonly Uint8Array[];
}

export interface StepReport {
  readonly step: number;
  readonly meanLoss: number;
  readonly policyLoss: number;
  /** Mean Bernoulli probability, and how many heads have p > 0.5. */
  readonly meanProb: number;
  readonly headsAboveHalf: number;
}

export function initLocatorState(input: LocatorConfigInput): LocatorState {
  const config = resolveLocatorConfig(input);
  const n = config.layers * config.heads;
  return { config, step: 0, logits: new Float64Array(n).fill(config.initLogit), m: new Float64Array(n), v: new Float64Array(n) };
}

const sigmoid = (x: number): number => 1 / (1 + Math.exp(-x));

/** sigmoid(logits) clamped to [lo, hi]. */
export function probabilities(logits: Float64Array, lo: number, hi: number): Float64Array {
  const p = new Float64Array(logits.length);
  for (let i = 0; i < p.length; i++) p[i] = Math.min(hi, Math.max(lo, sigmoid(logits[i])));
  return p;
}

/** Training-time probabilities: clamped to [probEps, 1 - probEps] as the reference. */
export const trainProbabilities = (s: LocatorState): Float64Array => probabilities(s.logits, s.config.probEps, 1 - s.config.probEps);

/** One Bernoulli draw per head: 1 when u < p (torch's bernoulli), u uniform in [0, 1). */
export function sampleMask(p: Float64Array, rng: Prng): Uint8Array {
  const m = new Uint8Array(p.length);
  for (let i = 0; i < p.length; i++) m[i] = rng.nextFloat() < p[i] ? 1 : 0;
  return m;
}

export function proposeMasks(state: LocatorState, reinforceSetSize: number): StepProposal {
  const { config: c, step } = state;
  if (step >= c.steps) throw new Error(`proposeMasks: all ${c.steps} steps are done`);
  if (!Number.isInteger(reinforceSetSize) || reinforceSetSize <= 0) throw new Error(`proposeMasks: the REINFORCE set is empty (size ${reinforceSetSize})`);
  const rng = Prng.derive(c.seed, 'locate-step', step);
  const queryIndex = rng.int(reinforceSetSize);
  const variant = rng.nextU32();
  const p = trainProbabilities(state);
  const masks = Array.from({ length: c.samplesPerStep }, () => sampleMask(p, rng));
  return { step, queryIndex, variant, masks };
}

/** (L - mean) / (std + eps) with torch.std's unbiased (n - 1) standard deviation. */
export function zScore(losses: ArrayLike<number>, eps: number): Float64Array {
  const n = losses.length;
  let mean = 0;
  for (let i = 0; i < n; i++) mean += losses[i];
  mean /= n;
  let ss = 0;
  for (let i = 0; i < n; i++) ss += (losses[i] - mean) ** 2;
  const std = Math.sqrt(ss / (n - 1));
  const z = new Float64Array(n);
  for (let i = 0; i < n; i++) z[i] = (losses[i] - mean) / (std + eps);
  return z;
}

/**
 * The policy loss sum_k sum_j log Bernoulli(mask_kj; p_j) * z_k, with p = clamp(sigmoid(logit)).
 * (Only used for reporting and to test the gradient.)
 */
export function policyLoss(logits: Float64Array, masks: readonly Uint8Array[], z: ArrayLike<number>, probEps: number): number {
  const p = probabilities(logits, probEps, 1 - probEps);
  let total = 0;
  masks.forEach((mask, k) => {
    let lp = 0;
    for (let j = 0; j < p.length; j++) lp += mask[j] ? Math.log(p[j]) : Math.log1p(-p[j]);
    total += lp * z[k];
  });
  return total;
}

/**
 * d policyLoss / d logit_j = sum_k z_k (mask_kj - p_j) where the clamp is inactive, 0 where it clips:
 * d log Bernoulli / dp = (x - p) / (p (1 - p)), dp/dlogit = p (1 - p) through sigmoid, and torch's
 * clamp passes the gradient only for eps <= sigmoid(logit) <= 1 - eps.
 */
export function policyGradient(logits: Float64Array, masks: readonly Uint8Array[], z: ArrayLike<number>, probEps: number): Float64Array {
  const g = new Float64Array(logits.length);
  for (let j = 0; j < logits.length; j++) {
    const s = sigmoid(logits[j]);
    if (s < probEps || s > 1 - probEps) continue;
    let acc = 0;
    for (let k = 0; k < masks.length; k++) acc += z[k] * (masks[k][j] - s);
    g[j] = acc;
  }
  return g;
}

/** torch.optim.Adam (amsgrad off, no weight decay), single-tensor path, in f64. `t` is the 1-based step. */
export function adamStep(c: Pick<LocatorConfig, 'lr' | 'beta1' | 'beta2' | 'adamEps'>, t: number, param: Float64Array, m: Float64Array, v: Float64Array, grad: Float64Array): void {
  const bc1 = 1 - c.beta1 ** t;
  const bc2Sqrt = Math.sqrt(1 - c.beta2 ** t);
  const stepSize = c.lr / bc1;
  for (let i = 0; i < param.length; i++) {
    m[i] += (grad[i] - m[i]) * (1 - c.beta1); // exp_avg.lerp_(grad, 1 - beta1)
    v[i] = v[i] * c.beta2 + (1 - c.beta2) * grad[i] * grad[i];
    const denom = Math.sqrt(v[i]) / bc2Sqrt + c.adamEps;
    param[i] -= (stepSize * m[i]) / denom;
  }
}

/** Applies one step's rollout losses (CE of the first answer token, one per mask); returns the next state. */
export function applyLosses(state: LocatorState, proposal: StepProposal, losses: ArrayLike<number>): { state: LocatorState; report: StepReport } {
  const c = state.config;
  if (proposal.step !== state.step) throw new Error(`applyLosses: proposal is for step ${proposal.step}, state is at step ${state.step}`);
  if (losses.length !== proposal.masks.length) throw new Error(`applyLosses: ${losses.length} losses for ${proposal.masks.length} masks (step ${proposal.step})`);
  for (let k = 0; k < losses.length; k++) {
    if (!Number.isFinite(losses[k])) throw new Error(`applyLosses: loss of mask ${k} at step ${proposal.step} is ${losses[k]}`);
  }
  const n = c.layers * c.heads;
  proposal.masks.forEach((mk, k) => {
    if (mk.length !== n) throw new Error(`applyLosses: mask ${k} has ${mk.length} entries, expected layers*heads = ${c.layers}*${c.heads} = ${n}`);
  });
  const z = zScore(losses, c.zEps);
  const grad = policyGradient(state.logits, proposal.masks, z, c.probEps);
  const report: StepReport = {
    step: state.step,
    meanLoss: Array.from(losses).reduce((a, b) => a + b, 0) / losses.length,
    policyLoss: policyLoss(state.logits, proposal.masks, z, c.probEps),
    meanProb: 0,
    headsAboveHalf: 0,
  };
  const logits = state.logits.slice();
  const m = state.m.slice();
  const v = state.v.slice();
  adamStep(c, state.step + 1, logits, m, v, grad);
  const p = probabilities(logits, c.probEps, 1 - c.probEps);
  const next: LocatorState = { config: c, step: state.step + 1, logits, m, v };
  return {
    state: next,
    report: { ...report, meanProb: p.reduce((a, b) => a + b, 0) / n, headsAboveHalf: p.filter((x) => x > 0.5).length },
  };
}

/** The reference validates after step indices where `epoch % validateEvery == 0`. */
export const validationDue = (s: LocatorState): boolean =>
  s.config.validateEvery > 0 && s.step > 0 && (s.step - 1) % s.config.validateEvery === 0;

/** The validation mask after step `s.step - 1`: one draw from the clamped Bernoullis (as validate_reinforce). */
export function validationMask(s: LocatorState): Uint8Array {
  return sampleMask(trainProbabilities(s), Prng.derive(s.config.seed, 'locate-validate', s.step - 1));
}

/**
 * The final candidates: finalSamples draws from sigmoid(logits) clamped to [0, 1] (not to eps, as
 * mtv_eval.py), after the optional threshold.
 */
export function finalCandidates(s: LocatorState): Uint8Array[] {
  const p = probabilities(s.logits, 0, 1);
  const t = s.config.finalThreshold;
  if (t !== null) for (let i = 0; i < p.length; i++) if (!(p[i] > t)) p[i] = 0;
  const rng = Prng.derive(s.config.seed, 'locate-final');
  return Array.from({ length: s.config.finalSamples }, () => sampleMask(p, rng));
}

/** JSON-safe form (f64 values print as shortest round-trip decimals, so the round trip is exact). */
export interface LocatorStateJson {
  readonly config: LocatorConfig;
  readonly step: number;
  readonly logits: number[];
  readonly m: number[];
  readonly v: number[];
}

export const locatorStateToJson = (s: LocatorState): LocatorStateJson => ({
  config: s.config, step: s.step, logits: Array.from(s.logits), m: Array.from(s.m), v: Array.from(s.v),
});

export function locatorStateFromJson(j: LocatorStateJson): LocatorState {
  const config = resolveLocatorConfig(j.config);
  const n = config.layers * config.heads;
  for (const k of ['logits', 'm', 'v'] as const) {
    if (!Array.isArray(j[k]) || j[k].length !== n || !j[k].every(Number.isFinite)) {
      throw new Error(`locator state: '${k}' must be ${n} finite numbers (layers ${config.layers} x heads ${config.heads})`);
    }
  }
  if (!Number.isInteger(j.step) || j.step < 0 || j.step > config.steps) throw new Error(`locator state: step ${j.step} outside [0, ${config.steps}]`);
  return { config, step: j.step, logits: Float64Array.from(j.logits), m: Float64Array.from(j.m), v: Float64Array.from(j.v) };
}
