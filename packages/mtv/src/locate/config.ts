// REINFORCE locator settings; defaults are the reference's (MTV/mtv_utils.py `reinforce`, mtv_eval.py).
import { LOCATOR_OBJECTIVES, type LocatorObjective } from './objective.js';

export interface LocatorConfig {
  readonly layers: number;
  readonly heads: number;
  readonly seed: number | string;
  /** Optimisation steps (reference: 600 "epochs"). */
  readonly steps: number;
  /** Masks drawn per step (reference: 32). */
  readonly samplesPerStep: number;
  /** Initial Bernoulli logit of every head (reference: -1, i.e. p = 0.269). */
  readonly initLogit: number;
  /** Probabilities are sigmoid(logit) clamped to [probEps, 1 - probEps] (reference eps = 1e-3). */
  readonly probEps: number;
  /** z = (L - mean) / (std + zEps), std the sample (n - 1) standard deviation as torch.std (reference eps = 1e-3). */
  readonly zEps: number;
  /** Adam, torch defaults except lr (reference lr = 0.1). */
  readonly lr: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly adamEps: number;
  /** Validate after step indices 0, k, 2k, ... (reference: `epoch % 50 == 0`); 0 disables. */
  readonly validateEvery: number;
  /** Final heads: best of this many masks sampled from the trained Bernoullis (reference: 10). */
  readonly finalSamples: number;
  /**
   * Probabilities at or below this are zeroed before the final sampling (torch threshold(p, t, 0));
   * the reference uses 0.8 for idefics2 only. null = off.
   */
  readonly finalThreshold: number | null;
  /**
   * What each rollout's loss is (objective.ts): 'ce' the first answer token's cross-entropy (the
   * reference), 'prob' 1 - its probability (robust to noisy labels). Steps, validation and the final
   * selection all use it.
   */
  readonly objective: LocatorObjective;
}

export const DEFAULT_LOCATOR_CONFIG = {
  steps: 600,
  samplesPerStep: 32,
  initLogit: -1,
  probEps: 1e-3,
  zEps: 1e-3,
  lr: 0.1,
  beta1: 0.9,
  beta2: 0.999,
  adamEps: 1e-8,
  validateEvery: 50,
  finalSamples: 10,
  finalThreshold: null,
  objective: 'ce',
} as const satisfies Omit<LocatorConfig, 'layers' | 'heads' | 'seed'>;

export type LocatorConfigInput = Pick<LocatorConfig, 'layers' | 'heads' | 'seed'> & Partial<LocatorConfig>;

export function resolveLocatorConfig(input: LocatorConfigInput): LocatorConfig {
  const c: LocatorConfig = { ...DEFAULT_LOCATOR_CONFIG, ...input };
  const posInt = (k: keyof LocatorConfig): void => {
    const v = c[k];
    if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) throw new Error(`locator config: ${k} must be a positive integer, got ${String(v)}`);
  };
  (['layers', 'heads', 'steps', 'finalSamples'] as const).forEach(posInt);
  if (!Number.isInteger(c.samplesPerStep) || c.samplesPerStep < 2) throw new Error(`locator config: samplesPerStep must be an integer >= 2 (the z-score needs a sample std), got ${c.samplesPerStep}`);
  if (!(c.probEps > 0 && c.probEps < 0.5)) throw new Error(`locator config: probEps must be in (0, 0.5), got ${c.probEps}`);
  if (!(c.lr > 0) || !(c.beta1 >= 0 && c.beta1 < 1) || !(c.beta2 >= 0 && c.beta2 < 1) || !(c.adamEps > 0) || !(c.zEps >= 0)) {
    throw new Error(`locator config: invalid optimiser settings lr=${c.lr} beta1=${c.beta1} beta2=${c.beta2} adamEps=${c.adamEps} zEps=${c.zEps}`);
  }
  if (!Number.isInteger(c.validateEvery) || c.validateEvery < 0) throw new Error(`locator config: validateEvery must be a non-negative integer, got ${c.validateEvery}`);
  if (c.finalThreshold !== null && !(c.finalThreshold >= 0 && c.finalThreshold < 1)) throw new Error(`locator config: finalThreshold must be in [0, 1) or null, got ${c.finalThreshold}`);
  if (!LOCATOR_OBJECTIVES.includes(c.objective)) throw new Error(`locator config: objective must be one of ${LOCATOR_OBJECTIVES.join(', ')}, got ${JSON.stringify(c.objective)}`);
  return c;
}
