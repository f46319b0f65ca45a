// Issue 14: --locator and its settings reach the fleet job spec; without them the spec is the
// reinforce spec of before (same hash); an unknown locator is refused naming it.
import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { addSpecOptions, specFromFlags, specHash, type SpecFlags } from '../src/index.js';

async function specOf(...args: string[]) {
  const c = addSpecOptions(new Command().exitOverride());
  c.parse(['node', 'x', '--data', '/tmp/d.jsonl', '--model-hash', 'sha256:x', '--geometry', '2,4,8', ...args]);
  return specFromFlags(c.opts<SpecFlags>(), '/tmp/state');
}

describe('fleet --locator', () => {
  it('carries the locator and its settings; absent, the spec has no locator fields', async () => {
    const s = await specOf('--locator', 'stv', '--k', '3', '--k-grid', '1,2', '--clusters', '8', '--bank-rounds', '50', '--stv-steps', '5', '--stv-samples', '4');
    expect(s.locate).toMatchObject({ locator: 'stv', k: 3, kGrid: [1, 2], clusters: 8, bankRounds: 50, stvSteps: 5, stvSamples: 4 });
    const plain = await specOf();
    expect(Object.keys(plain.locate!).filter((k) => ['locator', 'k', 'kGrid', 'clusters', 'bankRounds', 'stvSteps', 'stvSamples'].includes(k))).toEqual([]);
    expect(specHash(await specOf('--locator', 'random'))).not.toBe(specHash(plain));
  });
  it('refuses an unknown locator, naming it and the known ones', async () => {
    await expect(specOf('--locator', 'greedy')).rejects.toThrow(/--locator: unknown "greedy"; known: reinforce, sensitivity, stv, random/);
  });
});
