// What the REINFORCE locator minimises per rollout, from the rollout's cross-entropy of the first
// answer token.
//   ce:   the cross-entropy itself (the reference, mtv_utils.reinforce).
//   prob: 1 - p(answer) = 1 - exp(-ce), the "MAE" loss, which is robust to noisy labels (Ghosh et al.,
//         AAAI 2017): when a query's label is the task's answer with probability q and each of the m
//         other answers with (1 - q) / m < q, its expectation 1 - q·p(a) - sum (1 - q)/m·p(b) is least
//         for the prediction that puts all its mass on a. Cross-entropy's expectation is least for the
//         calibrated mixture instead, so on noisy labels it rewards head sets that keep the prediction
//         hedged, i.e. that carry little of the task (measured on noisy task inference: BENCHMARKS.md).

export type LocatorObjective = 'ce' | 'prob';

export const LOCATOR_OBJECTIVES: readonly LocatorObjective[] = ['ce', 'prob'];

/** The objective's loss of each rollout, given the rollouts' cross-entropies. */
export function objectiveLosses(objective: LocatorObjective, ce: ArrayLike<number>): Float64Array {
  const out = Float64Array.from(ce);
  if (objective === 'prob') for (let i = 0; i < out.length; i++) out[i] = -Math.expm1(-out[i]!);
  return out;
}

export function parseLocatorObjective(v: string): LocatorObjective {
  if (!(LOCATOR_OBJECTIVES as readonly string[]).includes(v)) throw new Error(`locator objective must be one of ${LOCATOR_OBJECTIVES.join(', ')}, got ${JSON.stringify(v)}`);
  return v as LocatorObjective;
}
