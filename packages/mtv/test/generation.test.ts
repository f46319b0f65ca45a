// Issue 10 items 6-7 on a real tiny model: min_new_tokens = 1 refuses an end token at the first step
// (an MTV that makes EOS most likely cannot give an empty answer); generateWith's defaults.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_MAX_NEW_TOKENS, generateWith, prepare, zeroShotPrompt } from '../src/index.js';
import { closeModelFixture, openModelFixture, type ModelFixture } from './e2e-fixture.js';

let m: ModelFixture;
beforeAll(async () => {
  m = await openModelFixture({ n: 4 });
}, 120_000);
afterAll(async () => {
  await closeModelFixture(m ?? {});
});

describe('min_new_tokens', () => {
  it('with the first greedy token made a stop token: 0 stops at once, 1 (the default) takes the next best', async () => {
    const p = await prepare(m.model, zeroShotPrompt('jsonl', m.fx.qa.examples[0]!, 0));
    const free = await m.model.generate(p, { maxNewTokens: 1, stopTokens: [] });
    const first = free.ids[0]!;
    const none = await m.model.generate(p, { maxNewTokens: 3, stopTokens: [first], minNewTokens: 0 });
    expect(none).toMatchObject({ ids: [], finish: 'stop' });
    const one = await generateWith(m.model, p, null, { maxNewTokens: 3, stopTokens: [first] });
    expect(one.ids.length).toBeGreaterThan(0);
    expect(one.ids[0]).not.toBe(first);
    expect(DEFAULT_MAX_NEW_TOKENS).toBe(20);
  }, 60_000);
});
