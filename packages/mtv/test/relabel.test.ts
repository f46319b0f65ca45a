// `mtv relabel` (issue 15): the first n records of a JSON Lines file re-answered by the model's k-shot
// ICL and written, every other field kept, beside the data (its image paths stay valid); deterministic
// from --seed; refuses an output that is the input or outside its folder, and formats it cannot rewrite,
// before loading the model, leaving the data untouched.
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Gpu } from '@mtv/kernels';
import { makeFixture, runCli, type Fixture } from './e2e-fixture.js';

let fx: Fixture;
let gpu: Gpu;
const run = (...argv: string[]): Promise<{ code: number; out: string; err: string }> => runCli(gpu, argv);
const base = (): string[] => ['-m', fx.modelDir, '--data', fx.qaFile, '-f', 'jsonl', '--quiet', '--shots', '2', '--max-new-tokens', '2'];
type Rec = { id: string; image: string; question: string; answer: string; answers?: string[] };
const records = async (file: string): Promise<Rec[]> => (await readFile(file, 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as Rec);

beforeAll(async () => {
  fx = await makeFixture({ n: 12 });
  gpu = await Gpu.create();
});

afterAll(async () => {
  gpu?.destroy();
  await fx?.cleanup();
});

describe('mtv relabel', () => {
  it('writes the first n records with the ICL answer as the label, other fields kept; the same seed gives the same file', async () => {
    const before = await readFile(fx.qaFile, 'utf8');
    const out = join(dirname(fx.qaFile), 'relabelled.jsonl');
    const r = await run('relabel', ...base(), '-n', '5', '-o', out, '--json');
    expect(r.code, r.err).toBe(0);
    const summary = JSON.parse(r.out) as { relabelled: number; skippedEmpty: number; keptLabel: number; shots: number };
    expect(summary.relabelled + summary.skippedEmpty).toBe(5);
    expect(summary.shots).toBe(2);
    const src = await records(fx.qaFile);
    const got = await records(out);
    expect(got).toHaveLength(summary.relabelled);
    let kept = 0;
    for (const g of got) {
      const s = src.find((x) => x.id === g.id)!;
      expect(src.indexOf(s)).toBeLessThan(5);
      expect({ ...g, answer: s.answer, answers: s.answers }).toEqual(s);
      expect(g.answer.trim()).not.toBe('');
      if (s.answers) expect(g.answers).toEqual(new Array(s.answers.length).fill(g.answer));
      if (g.answer === s.answer) kept++;
    }
    expect(summary.keptLabel).toBe(kept);
    expect(await readFile(fx.qaFile, 'utf8')).toBe(before);
    const again = join(dirname(fx.qaFile), 'again.jsonl');
    const r2 = await run('relabel', ...base(), '-n', '5', '-o', again);
    expect(r2.code, r2.err).toBe(0);
    expect(r2.out).toMatch(/wrote .*again\.jsonl: \d+ examples relabelled by 2-shot ICL; \d+ kept their label/);
    expect(await readFile(again, 'utf8')).toBe(await readFile(out, 'utf8'));
  });

  it('refuses -o outside the data folder, -o naming the data, and a non-jsonl format, naming the cause; the data is untouched', async () => {
    const before = await readFile(fx.qaFile, 'utf8');
    const outside = await run('relabel', ...base(), '-o', join(fx.root, 'x.jsonl'));
    expect(outside.code).not.toBe(0);
    expect(outside.err).toMatch(/must be in the directory of --data/);
    const same = await run('relabel', ...base(), '-o', fx.qaFile);
    expect(same.code).not.toBe(0);
    expect(same.err).toMatch(/--data/);
    const fmt = await run('relabel', ...base().map((a) => (a === 'jsonl' ? 'vizwiz' : a)), '-o', join(dirname(fx.qaFile), 'y.jsonl'));
    expect(fmt.code).not.toBe(0);
    expect(fmt.err).toMatch(/JSON Lines \(-f jsonl\) only, got 'vizwiz'/);
    expect(await readFile(fx.qaFile, 'utf8')).toBe(before);
  });
});
