// Issue 10 item 8: the coordinator's job defaults are the reference's; --quick is the demo preset;
// --init-logit / --threshold reach the locate phase; max_new_tokens comes from generation_config.json.
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { QUICK, addSpecOptions, locatorConfig, specFromFlags, type SpecFlags } from '../src/index.js';

const demoModel = fileURLToPath(new URL('../../toy/demo-model', import.meta.url));

async function specOf(...args: string[]) {
  const c = addSpecOptions(new Command().exitOverride());
  c.parse(['node', 'x', '--data', '/tmp/d.jsonl', ...args]);
  return specFromFlags(c.opts<SpecFlags>(), '/tmp/state');
}
const hashed = ['--model-hash', 'sha256:x', '--geometry', '2,4,8'];

describe('fleet job defaults (issue 10 item 8)', () => {
  it("are the reference's: 600 steps, 50 selection, 50 validation, every eval query, 20 new tokens, min 1", async () => {
    const s = await specOf(...hashed);
    expect([s.locate!.steps, s.locate!.selectionSize, s.locate!.validationSize, s.locate!.validateEvery]).toEqual([600, 50, 50, 50]);
    expect(s.eval!.n).toBeUndefined();
    expect([s.eval!.maxNewTokens, s.eval!.minNewTokens]).toEqual([20, 1]);
    expect(s.extract.shots).toBe(4);
  });
  it('--quick is the small preset; explicit flags still win', async () => {
    const q = await specOf(...hashed, '--quick');
    expect([q.locate!.steps, q.locate!.selectionSize, q.locate!.validationSize, q.eval!.n]).toEqual([QUICK.steps, QUICK.selection, QUICK.validation, QUICK.evalN]);
    expect((await specOf(...hashed, '--quick', '--steps', '7')).locate!.steps).toBe(7);
  });
  it('shots follow the reference per format; --init-logit and --threshold reach the locator', async () => {
    expect((await specOf(...hashed, '--format', 'vizwiz')).extract.shots).toBe(16);
    expect((await specOf(...hashed, '--format', 'flower')).extract.shots).toBe(0);
    const s = await specOf(...hashed, '--init-logit', '-2', '--threshold', '0.8');
    const cfg = locatorConfig({ spec: s });
    expect([cfg.initLogit, cfg.finalThreshold]).toEqual([-2, 0.8]);
  });
  it('--objective and --locate-data reach the locate phase (default ce and --data); an unknown objective is named', async () => {
    expect(locatorConfig({ spec: await specOf(...hashed) }).objective).toBe('ce');
    expect(locatorConfig({ spec: await specOf(...hashed, '--objective', 'prob') }).objective).toBe('prob');
    await expect(specOf(...hashed, '--objective', 'mae')).rejects.toThrow(/locator objective must be one of ce, prob, got "mae"/);
    expect((await specOf(...hashed, '--locate-data', '/tmp/relabelled.jsonl')).locateData).toEqual({ file: '/tmp/relabelled.jsonl', format: 'jsonl' });
    expect((await specOf(...hashed)).locateData).toBeUndefined();
  });
  it("max_new_tokens comes from the model's generation_config.json (the demo model: 1)", async () => {
    expect((await specOf('--model', demoModel)).eval!.maxNewTokens).toBe(1);
    expect((await specOf('--model', demoModel, '--max-new-tokens', '5')).eval!.maxNewTokens).toBe(5);
  });
  it('a bad scorer name lists the known ones', async () => {
    await expect(specOf(...hashed, '--vqa-scorer', 'vqa2')).rejects.toThrow(/--vqa-scorer: unknown "vqa2"; known: lavis, official/);
  });
});
