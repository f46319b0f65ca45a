// The REINFORCE objective (locate/objective.ts): 'prob' = 1 - p(answer) from the rollouts'
// cross-entropies, applied to steps, validation and selection alike; and why it exists: on noisy
// labels the expected cross-entropy prefers a hedged prediction, the expected 1 - p the task's answer.
import { describe, expect, it } from 'vitest';
import { objectiveLosses, parseLocatorObjective, resolveLocatorConfig, runLocator, locatorStateFromJson, locatorStateToJson, initLocatorState, type RolloutEvaluator } from '@mtv/mtv';

describe('locator objective', () => {
  it("maps cross-entropy to 1 - p exactly, and 'ce' passes it through", () => {
    const ce = [0, 1e-12, Math.log(2), 3, 40];
    expect(Array.from(objectiveLosses('ce', ce))).toEqual(ce);
    const p = objectiveLosses('prob', ce);
    expect(p[0]).toBe(0);
    expect(Math.abs(p[1]! / 1e-12 - 1)).toBeLessThan(1e-9); // expm1 keeps tiny losses (1 - exp loses their digits)
    expect(p[2]).toBeCloseTo(0.5, 15);
    expect(p[3]).toBeCloseTo(1 - Math.exp(-3), 15);
    expect(p[4]).toBeCloseTo(1, 15);
  });

  it('on noisy labels (q = 0.3, four others at 0.175) cross-entropy prefers the hedged prediction and 1 - p the asked answer', () => {
    const labels = [0.3, 0.175, 0.175, 0.175, 0.175];
    const confident = [0.96, 0.01, 0.01, 0.01, 0.01];
    const hedged = labels;
    const expected = (obj: 'ce' | 'prob', pred: number[]): number => labels.reduce((a, q, i) => a + q * objectiveLosses(obj, [-Math.log(pred[i]!)])[0]!, 0);
    expect(expected('ce', hedged)).toBeLessThan(expected('ce', confident));
    expect(expected('prob', confident)).toBeLessThan(expected('prob', hedged));
  });

  it('is part of the config: defaults to ce, is validated, survives a JSON checkpoint', () => {
    expect(resolveLocatorConfig({ layers: 2, heads: 2, seed: 0 }).objective).toBe('ce');
    expect(() => resolveLocatorConfig({ layers: 2, heads: 2, seed: 0, objective: 'mse' as 'ce' })).toThrow(/objective must be one of ce, prob, got "mse"/);
    expect(() => parseLocatorObjective('CE')).toThrow(/ce, prob/);
    const s = initLocatorState({ layers: 2, heads: 2, seed: 0, objective: 'prob' });
    expect(locatorStateFromJson(JSON.parse(JSON.stringify(locatorStateToJson(s)))).config.objective).toBe('prob');
  });

  it("runLocator with 'prob' equals 'ce' on an evaluator that returns 1 - p itself: steps, validation and selection", async () => {
    // a per-(query, mask) cross-entropy in [0.2, 3]
    const ce: RolloutEvaluator<number> = async (q, masks) =>
      Float64Array.from(masks, (m) => 0.2 + ((m.reduce((a, b, j) => a + b * ((j * 7 + q.item * 3) % 5), 0) + q.index) % 9) / 3);
    const asProb: RolloutEvaluator<number> = async (q, masks) => objectiveLosses('prob', await ce(q, masks));
    const set = Array.from({ length: 8 }, (_, i) => i);
    const base = { layers: 3, heads: 3, seed: 5, steps: 12, validateEvery: 4 };
    const a = await runLocator({ config: { ...base, objective: 'prob' }, reinforceSet: set, validationSet: set.slice(0, 3), selectionSet: set.slice(0, 4), evaluate: ce });
    const b = await runLocator({ config: base, reinforceSet: set, validationSet: set.slice(0, 3), selectionSet: set.slice(0, 4), evaluate: asProb });
    expect(Array.from(a.state.logits)).toEqual(Array.from(b.state.logits));
    expect(a.validation).toEqual(b.validation);
    expect(a.selectionLoss).toBe(b.selectionLoss);
    expect(a.selectionLoss).toBeGreaterThan(0);
    expect(a.selectionLoss).toBeLessThan(1);
    const c = await runLocator({ config: base, reinforceSet: set, validationSet: set.slice(0, 3), selectionSet: set.slice(0, 4), evaluate: ce });
    expect(c.selectionLoss).not.toBe(a.selectionLoss);
  });
});
