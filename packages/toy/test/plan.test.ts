// The training plan: phases by progress, the --mix/--shots parser, and the stream following a
// phase's family weights and shot ranges (deterministically, so a resumed run redraws the same data).
import { describe, expect, it } from 'vitest';
import { EpisodeStream } from '../src/train/data.js';
import { DEMO_PLAN, phaseAt, singlePhasePlan } from '../src/train/plan.js';

describe('training plan', () => {
  it('picks the phase by progress, the last one at and past the end', () => {
    expect(phaseAt(DEMO_PLAN, 0).name).toBe('base');
    expect(phaseAt(DEMO_PLAN, 0.2).name).toBe('match');
    expect(phaseAt(DEMO_PLAN, 0.64).name).toBe('match');
    expect(phaseAt(DEMO_PLAN, 0.99).name).toBe('extend');
    expect(phaseAt(DEMO_PLAN, 1.5).name).toBe('extend');
    expect(DEMO_PLAN[DEMO_PLAN.length - 1]!.until).toBe(1);
    expect(() => phaseAt([], 0)).toThrow(/no phases/);
  });

  it('parses --mix and --shots into one phase and names bad values', () => {
    const [p] = singlePhasePlan('task-inference=1,two-way=2.5', 'two-way=1-3');
    expect(p!.mix).toEqual({ familyWeights: { 'task-inference': 1, 'two-way': 2.5 }, shotRanges: { 'two-way': [1, 3] } });
    expect(singlePhasePlan(undefined, undefined)[0]!.mix).toEqual({});
    expect(() => singlePhasePlan('two-way', undefined)).toThrow(/--mix: expected family=value pairs/);
    expect(() => singlePhasePlan('two-way=-1', undefined)).toThrow(/--mix: weight of two-way/);
    expect(() => singlePhasePlan('cats=1', undefined)).toThrow(/cats/);
    expect(() => singlePhasePlan(undefined, 'two-way=3-1')).toThrow(/--shots: range of two-way must look like 1-3/);
    expect(() => singlePhasePlan(undefined, 'two-way=x')).toThrow(/--shots/);
  });

  it('draws the shot counts and families of the phase in effect, the same for the same seed', () => {
    const draw = (): { family: string; shots: number }[] => {
      const s = new EpisodeStream({ seed: 3, imageTokens: 4, maxShots: 8 });
      s.setMix(DEMO_PLAN[1]!.mix);
      return s.batch(4000).map((q) => ({ family: q.family, shots: q.shots }));
    };
    const a = draw();
    expect(a).toEqual(draw());
    const twoWay = a.filter((q) => q.family === 'two-way');
    expect(twoWay.length).toBeGreaterThan(a.length / 2); // weight 4 of 6
    expect(new Set(twoWay.map((q) => q.shots))).toEqual(new Set([1, 2]));
    expect(Math.max(...a.filter((q) => q.family !== 'two-way').map((q) => q.shots))).toBeGreaterThan(2);
  });
});
