// The locators with the model (tiny random checkpoint): collect() taps the same sums as extract(),
// each locator is deterministic for a seed (and another seed changes it), and the CLI's
// `mtv run --locator stv` writes an artifact that inspect reads.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import type { Gpu } from '@mtv/kernels';
import type { VisionLanguageModel } from '@mtv/model';
import { collect, extract, locateHeads, type Located, type LocatorKind } from '../src/index.js';
import { closeModelFixture, openModelFixture, runCli, type Fixture } from './e2e-fixture.js';

let fx: Fixture;
let gpu: Gpu;
let model: VisionLanguageModel;

beforeAll(async () => {
  ({ fx, gpu, model } = await openModelFixture({ n: 14 }));
});
afterAll(() => closeModelFixture({ fx, gpu, model }));

const same = (a: ArrayLike<number>, b: ArrayLike<number>): boolean => a.length === b.length && Array.from(a).every((v, i) => Object.is(v, b[i]));
const small = { reinforceSize: 4, selectionSize: 2, validationSize: 3, steps: 2, samplesPerStep: 4, validateEvery: 0, finalSamples: 2, stvSteps: 3, stvSamples: 3, clusters: 3, kGrid: [1, 2, 4] };

describe('locators with the model', () => {
  let stats: Awaited<ReturnType<typeof collect>>;
  beforeAll(async () => {
    stats = await collect(model, fx.qa, { seed: 3, shots: 2, rounds: 5, shardSize: 2, bank: true });
  });

  it('collect() taps the same sums as extract(), bit for bit', async () => {
    const sums = await extract(model, fx.qa, { seed: 3, shots: 2, rounds: 5, shardSize: 2 });
    expect(same(stats.sums.sum, sums.sum)).toBe(true);
    expect(stats.stats.count).toBe(5);
    expect(stats.stats.keptRounds).toEqual([0, 1, 2, 3, 4]);
  });

  for (const kind of ['sensitivity', 'stv', 'random', 'reinforce'] as LocatorKind[]) {
    it(`${kind} is deterministic for a seed`, async () => {
      const run = (seed: number): Promise<Located> => locateHeads(model, fx.qa, stats.sums.means(), stats.stats, { ...small, locator: kind, seed });
      const [a, b] = [await run(1), await run(1)];
      expect(Array.from(a.locations)).toEqual(Array.from(b.locations));
      expect(a.k).toBe(b.k);
      expect(a.kGrid).toEqual(b.kGrid);
      if (kind === 'stv') {
        expect(same(a.bank!.centres, b.bank!.centres)).toBe(true);
        expect(Array.from(a.bank!.choice)).toEqual(Array.from(b.bank!.choice));
        expect(a.bank!.centres.length).toBe(a.k * 3 * model.headShape[2]);
      }
      if (kind === 'reinforce') expect(same(a.reinforce!.state.logits, b.reinforce!.state.logits)).toBe(true);
      if (kind !== 'sensitivity') {
        // Another seed changes what is drawn (random heads, stv samples/centres, REINFORCE masks).
        const c = await run(2);
        const sig = (x: Located): string => `${Array.from(x.locations).join()}|${x.bank ? Array.from(x.bank.centres.subarray(0, 8)).join() : ''}|${x.reinforce ? Array.from(x.reinforce.state.logits).join() : ''}`;
        expect(sig(c)).not.toBe(sig(a));
      }
      expect(a.cost.forwardPasses).toBeGreaterThan(0);
    });
  }

  it('mtv run --locator stv writes locations, bank and choices; inspect reads them; bad K is refused naming it', async () => {
    const out = join(fx.root, 'stv.safetensors');
    const args = ['-m', fx.modelDir, '--data', fx.qaFile, '-f', 'jsonl', '--shots', '2', '--rounds', '4', '--shard-size', '2', '--reinforce-size', '4', '--validation-size', '3', '-q'];
    const r = await runCli(gpu, ['run', ...args, '--locator', 'stv', '--clusters', '2', '--stv-steps', '2', '--stv-samples', '2', '--k', '3', '-o', out]);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const i = await runCli(gpu, ['inspect', out, '--json']);
    const j = JSON.parse(i.out) as { locator: { kind: string; locations: number[]; clusters: number; choice: number[] }; provenance: { notes: Record<string, unknown> } };
    expect(j.locator.kind).toBe('stv');
    expect(j.locator.locations).toHaveLength(3);
    expect(j.locator.clusters).toBe(2);
    expect(j.provenance.notes.locator).toBe('stv');
    // eval and apply read the stv artifact (the chosen centres patched in).
    const ev = await runCli(gpu, ['eval', '-m', fx.modelDir, '--data', fx.qaFile, '-f', 'jsonl', '-a', out, '--modes', 'mtv', '-n', '2', '--max-new-tokens', '2', '--json', '-q']);
    expect(ev.code, ev.err).toBe(0);
    // extract + locate --locator sensitivity (re-taps the artifact's rounds) = run --locator sensitivity.
    const ex = join(fx.root, 'sums.safetensors');
    const exr = await runCli(gpu, ['extract', '-m', fx.modelDir, '--data', fx.qaFile, '-f', 'jsonl', '--shots', '2', '--rounds', '4', '--shard-size', '2', '-q', '-o', ex]);
    expect(exr.code, exr.err).toBe(0);
    const viaLocate = await runCli(gpu, ['locate', '-m', fx.modelDir, '--data', fx.qaFile, '-f', 'jsonl', '-a', ex, '-o', join(fx.root, 'l.safetensors'), '--reinforce-size', '4', '--validation-size', '3', '--locator', 'sensitivity', '--json', '-q']);
    const viaRun = await runCli(gpu, ['run', ...args, '--locator', 'sensitivity', '-o', join(fx.root, 'r.safetensors'), '--json']);
    expect(viaLocate.code, viaLocate.err).toBe(0);
    const maskOf = (s: string): number[] => Object.values((JSON.parse(s) as { mask: Record<string, number> }).mask);
    expect(maskOf(viaLocate.out)).toEqual(maskOf(viaRun.out));
    expect(maskOf(viaRun.out).some((v) => v === 1)).toBe(true);
    const bad = await runCli(gpu, ['run', ...args, '--locator', 'sensitivity', '--k', '999', '-o', join(fx.root, 'x.safetensors')]);
    expect(bad.code).not.toBe(0);
    expect(bad.err).toMatch(/--k = 999 is larger than the model's layers x heads/);
    const badC = await runCli(gpu, ['run', ...args, '--locator', 'stv', '--clusters', '8', '-o', join(fx.root, 'y.safetensors')]);
    expect(badC.err).toMatch(/--clusters C = 8 is larger than --rounds = 4/);
  });
});
