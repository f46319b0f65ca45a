export interface BackoffOptions {
  /** Delay before the first reconnect attempt. */
  initialMs: number;
  /** Cap on the delay. */
  maxMs: number;
  /** Growth per failed attempt. */
  factor: number;
  /** Fraction of the delay that is randomised: delay is drawn from [base * (1 - jitter), base]. 0..1. */
  jitter: number;
  /** Give up after this many consecutive failed attempts (Infinity: never). */
  maxAttempts: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { initialMs: 250, maxMs: 30_000, factor: 2, jitter: 0.5, maxAttempts: Infinity };

export function resolveBackoff(opts: Partial<BackoffOptions> = {}): BackoffOptions {
  const b = { ...DEFAULT_BACKOFF, ...opts };
  if (!(b.initialMs >= 0) || !(b.maxMs >= b.initialMs)) throw new Error(`backoff: need 0 <= initialMs (${b.initialMs}) <= maxMs (${b.maxMs})`);
  if (!(b.factor >= 1)) throw new Error(`backoff: factor ${b.factor} must be >= 1`);
  if (!(b.jitter >= 0 && b.jitter <= 1)) throw new Error(`backoff: jitter ${b.jitter} must be in [0, 1]`);
  if (!(b.maxAttempts >= 1)) throw new Error(`backoff: maxAttempts ${b.maxAttempts} must be >= 1`);
  return b;
}

/**
 * Delay before reconnect attempt `attempt` (1-based): exponential `initialMs * factor^(attempt-1)` capped at
 * `maxMs`, then jittered downwards so a fleet that lost its coordinator at once does not reconnect in lockstep.
 */
export function backoffDelay(attempt: number, b: BackoffOptions, random: () => number = Math.random): number {
  const base = Math.min(b.maxMs, b.initialMs * b.factor ** Math.max(0, attempt - 1));
  return base * (1 - b.jitter * random());
}
