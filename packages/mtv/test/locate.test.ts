import { describe, expect, it } from 'vitest';
import {
  adamStep, applyLosses, finalCandidates, initLocatorState, locatorStateFromJson, locatorStateToJson, policyGradient,
  policyLoss, Prng, proposeMasks, resolveLocatorConfig, runLocator, sampleMask, validationDue, zScore,
  type LocatorState, type RolloutEvaluator,
} from '@mtv/mtv';

describe('REINFORCE math', () => {
  it('z-scores with the sample (n - 1) std, as torch.std', () => {
    const z = zScore([1, 2, 3, 4], 1e-3);
    const std = Math.sqrt(5 / 3); // sum of squared deviations 5, n - 1 = 3
    expect(z[0]).toBeCloseTo(-1.5 / (std + 1e-3), 14);
    expect(Array.from(zScore([2, 2, 2], 1e-3))).toEqual([0, 0, 0]);
  });

  it('the analytic gradient equals a central finite difference of the policy loss', () => {
    const rng = Prng.derive('fd');
    const n = 12;
    // logits in the unclamped region, and two clamped ones (sigmoid(-8) = 3.4e-4 < 1e-3, sigmoid(8) > 1 - 1e-3)
    const logits = Float64Array.from({ length: n }, (_, i) => (i === 3 ? -8 : i === 7 ? 8 : rng.nextFloat() * 6 - 3));
    const masks = Array.from({ length: 6 }, () => sampleMask(new Float64Array(n).fill(0.5), rng));
    const z = zScore(Array.from({ length: 6 }, () => rng.nextFloat() * 4), 1e-3);
    const g = policyGradient(logits, masks, z, 1e-3);
    const h = 1e-5;
    for (let j = 0; j < n; j++) {
      const up = logits.slice();
      const dn = logits.slice();
      up[j] += h;
      dn[j] -= h;
      const fd = (policyLoss(up, masks, z, 1e-3) - policyLoss(dn, masks, z, 1e-3)) / (2 * h);
      // central difference error O(h^2 * f''') ~ 1e-10 plus cancellation ~ 1e-11 / h = 1e-6 relative to O(1) losses
      expect(Math.abs(g[j] - fd), `head ${j}`).toBeLessThan(1e-6);
    }
    expect(g[3]).toBe(0);
    expect(g[7]).toBe(0);
  });

  it('Adam matches torch.optim.Adam (first step moves every param by lr * sign(grad))', () => {
    const c = resolveLocatorConfig({ layers: 1, heads: 3, seed: 0 });
    const p = Float64Array.from([-1, -1, -1]);
    const m = new Float64Array(3);
    const v = new Float64Array(3);
    adamStep(c, 1, p, m, v, Float64Array.from([2, -0.5, 0]));
    // m = 0.1 g, v = 0.001 g^2; m / (1 - 0.9) / (sqrt(v / (1 - 0.999)) + eps) = g / (|g| + 1e-8)
    expect(p[0]).toBeCloseTo(-1 - 0.1 * (2 / (2 + 1e-8)), 14);
    expect(p[1]).toBeCloseTo(-1 + 0.1 * (0.5 / (0.5 + 1e-8)), 14);
    expect(p[2]).toBe(-1);
    // second step, hand-computed from torch's update rule
    adamStep(c, 2, p, m, v, Float64Array.from([1, 1, 1]));
    const m2 = 0.9 * 0.2 + 0.1 * 1;
    const v2 = 0.999 * 0.004 + 0.001;
    const expected = -1 - 0.1 * (2 / (2 + 1e-8)) - (0.1 / (1 - 0.81)) * m2 / (Math.sqrt(v2) / Math.sqrt(1 - 0.999 ** 2) + 1e-8);
    expect(p[0]).toBeCloseTo(expected, 12);
  });
});

/** loss = #bad heads on - #good heads on: REINFORCE should switch on exactly the good heads. */
const good = new Set([1, 4, 6, 11]);
const synthetic: RolloutEvaluator<number> = async (_q, masks) =>
  Float64Array.from(masks.map((m) => m.reduce((acc, on, j) => acc + (on ? (good.has(j) ? -1 : 1) : 0), 0)));

describe('the locator', () => {
  const config = { layers: 3, heads: 4, seed: 42, steps: 150, validateEvery: 50 };
  const set = Array.from({ length: 10 }, (_, i) => i);

  it('converges to the good heads on a synthetic evaluator', async () => {
    const events: string[] = [];
    const r = await runLocator({
      config, reinforceSet: set, validationSet: set.slice(0, 3), selectionSet: set.slice(0, 5), evaluate: synthetic,
      onEvent: (e) => void events.push(e.kind),
    });
    const p = r.state.logits.map((l) => 1 / (1 + Math.exp(-l)));
    for (let j = 0; j < 12; j++) {
      if (good.has(j)) expect(p[j], `good head ${j}`).toBeGreaterThan(0.95);
      else expect(p[j], `bad head ${j}`).toBeLessThan(0.05);
    }
    expect([...r.heads].flatMap((on, j) => (on ? [j] : []))).toEqual([...good]);
    expect(r.selectionLoss).toBe(-4);
    expect(r.validation.map((v) => v.step)).toEqual([0, 50, 100]);
    expect(r.validation[2].loss).toBeLessThan(r.validation[0].loss);
    expect(events.filter((k) => k === 'step')).toHaveLength(150);
    expect(events.filter((k) => k === 'candidate')).toHaveLength(10);
  });

  it('is deterministic for a seed, and a checkpoint/resume through JSON reproduces the uninterrupted run', async () => {
    const short = { ...config, steps: 20 };
    const a = await runLocator({ config: short, reinforceSet: set, selectionSet: set, evaluate: synthetic });
    const b = await runLocator({ config: short, reinforceSet: set, selectionSet: set, evaluate: synthetic });
    expect(Array.from(b.state.logits)).toEqual(Array.from(a.state.logits));
    expect(Array.from(b.heads)).toEqual(Array.from(a.heads));

    // manual split API: 8 steps, checkpoint through JSON, resume for the rest
    let s: LocatorState = initLocatorState(short);
    for (let i = 0; i < 8; i++) {
      const prop = proposeMasks(s, set.length);
      s = applyLosses(s, prop, await synthetic({ item: set[prop.queryIndex], index: prop.queryIndex, variant: prop.variant }, prop.masks)).state;
    }
    const resumed = locatorStateFromJson(JSON.parse(JSON.stringify(locatorStateToJson(s))));
    const c = await runLocator({ config: short, reinforceSet: set, selectionSet: set, evaluate: synthetic, resume: resumed });
    expect(Array.from(c.state.logits)).toEqual(Array.from(a.state.logits));
    expect(Array.from(c.state.v)).toEqual(Array.from(a.state.v));

    const other = await runLocator({ config: { ...short, seed: 43 }, reinforceSet: set, selectionSet: set, evaluate: synthetic });
    expect(Array.from(other.state.logits)).not.toEqual(Array.from(a.state.logits));
  });

  it('validates its inputs', () => {
    const s = initLocatorState({ layers: 2, heads: 2, seed: 1, steps: 3 });
    expect(Array.from(s.logits)).toEqual([-1, -1, -1, -1]);
    const prop = proposeMasks(s, 5);
    expect(prop.masks).toHaveLength(32);
    expect(() => applyLosses(s, prop, new Float64Array(31))).toThrow(/31 losses for 32 masks/);
    const bad = new Float64Array(32);
    bad[4] = Number.NaN;
    expect(() => applyLosses(s, prop, bad)).toThrow(/loss of mask 4 at step 0 is NaN/);
    expect(() => applyLosses(s, { ...prop, step: 1 }, new Float64Array(32))).toThrow(/proposal is for step 1, state is at step 0/);
    expect(() => proposeMasks(s, 0)).toThrow(/REINFORCE set is empty/);
    expect(() => initLocatorState({ layers: 2, heads: 2, seed: 1, samplesPerStep: 1 })).toThrow(/samplesPerStep must be an integer >= 2/);
    expect(validationDue({ ...s, step: 1 })).toBe(true);
    expect(validationDue({ ...s, step: 2 })).toBe(false);
  });

  it('final candidates sample sigmoid(logits) clamped to [0, 1], after the optional threshold', () => {
    const s = initLocatorState({ layers: 1, heads: 4, seed: 9, finalSamples: 50, finalThreshold: 0.8 });
    const t: LocatorState = { ...s, logits: Float64Array.from([40, 1.2, 1.5, -40]) }; // p = 1, 0.77, 0.82, 0
    const masks = finalCandidates(t);
    expect(masks.every((m) => m[0] === 1 && m[1] === 0 && m[3] === 0)).toBe(true); // 0.77 <= 0.8 is zeroed
    const on2 = masks.filter((m) => m[2] === 1).length;
    expect(on2).toBeGreaterThan(25);
    expect(on2).toBeLessThan(50);
  });
});
