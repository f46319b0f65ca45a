// Issue 10 from the `mtv eval` CLI: the scoring line in every table, --vqa-scorer on a VizWiz-format
// file, bad scorer names and uncovering annotation files, and cross-task across formats.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Gpu } from '@mtv/kernels';
import { makeFixture, runCli, type Fixture } from './e2e-fixture.js';

let fx: Fixture;
let gpu: Gpu;
let vizwiz = '';
let ann = '';
let partial = '';
let artifact = '';

const run = (...argv: string[]): Promise<{ code: number; out: string; err: string }> => runCli(gpu, argv);

beforeAll(async () => {
  fx = await makeFixture({ n: 8 });
  gpu = await Gpu.create();
  // The same items as VizWiz lines: one answer each, question ids q0..q7.
  const lines = (await readFile(fx.qaFile, 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as { image?: string; images?: string[]; question: string; answer?: string; answers?: string[] });
  const items = lines.map((l, i) => ({ image: l.image ?? l.images![0], question: l.question, answer: l.answer ?? l.answers![0], question_id: `q${i}` }));
  vizwiz = join(fx.root, 'qa', 'vizwiz.jsonl');
  await writeFile(vizwiz, items.map((x) => JSON.stringify(x)).join('\n') + '\n');
  const rec = (x: { answer: string; question_id: string }) => ({ question_id: x.question_id, answers: Array.from({ length: 10 }, (_, k) => ({ answer: x.answer, answer_id: k + 1 })) });
  ann = join(fx.root, 'ann.json');
  await writeFile(ann, JSON.stringify(items.map(rec)));
  partial = join(fx.root, 'partial.json');
  await writeFile(partial, JSON.stringify(items.slice(0, 3).map(rec)));
  artifact = join(fx.root, 'a.safetensors');
  const r = await run('run', '--model', fx.modelDir, '--data', fx.qaFile, '--format', 'jsonl', '--shots', '1', '--rounds', '2', '--shard-size', '1', '--steps', '1', '--samples', '2',
    '--validate-every', '0', '--final-samples', '1', '--reinforce-size', '2', '--selection-size', '1', '--out', artifact, '--quiet');
  expect(r.code, r.err).toBe(0);
});

afterAll(async () => {
  gpu?.destroy();
  await fx?.cleanup();
});

const vz = (): string[] => ['--model', fx.modelDir, '--data', vizwiz, '--format', 'vizwiz', '--quiet'];

describe('mtv eval scoring options (issue 10)', () => {
  it('names the scoring in force (lavis for vizwiz by default, official when asked); single answers = ten repeated annotations', async () => {
    const d = await run('eval', ...vz(), '--modes', 'zero-shot', '-n', '3', '--max-new-tokens', '2');
    expect(d.code, d.err).toBe(0);
    expect(d.out).toMatch(/^scoring: vqa=lavis, 2-way=reference, clean-up=reference$/m);
    const o = await run('eval', ...vz(), '--modes', 'zero-shot', '-n', '3', '--max-new-tokens', '2', '--vqa-scorer', 'official', '--json');
    expect(o.code, o.err).toBe(0);
    expect((JSON.parse(o.out) as { scoring: { vqaScorer: string } }).scoring.vqaScorer).toBe('official');
    const plain = JSON.parse((await run('eval', ...vz(), '--modes', 'zero-shot', '-n', '3', '--max-new-tokens', '2', '--json')).out) as { summaries: { accuracy: number }[] };
    const annotated = JSON.parse((await run('eval', ...vz(), '--modes', 'zero-shot', '-n', '3', '--max-new-tokens', '2', '--annotations', ann, '--json')).out) as { summaries: { accuracy: number }[] };
    expect(annotated.summaries).toEqual(plain.summaries);
  });

  it('an unknown scorer lists the known ones; annotations missing ids name the first and the count', async () => {
    const bad = await run('eval', ...vz(), '--modes', 'zero-shot', '-n', '1', '--vqa-scorer', 'vqa2');
    expect(bad.code).not.toBe(0);
    expect(bad.err).toMatch(/unknown VQA scorer "vqa2"; known: lavis, official/);
    const miss = await run('eval', ...vz(), '--modes', 'zero-shot', '--annotations', partial);
    expect(miss.code).not.toBe(0);
    expect(miss.err).toMatch(/annotations do not cover 5 of the 8 evaluated question ids \(first missing: q3, q4, q5, q6, q7\)/);
  });

  it('cross-task across formats: --cross-formats gives each dataset its own format and scorer', async () => {
    const r = await run('eval', '--model', fx.modelDir, '--data', fx.qaFile, '--format', 'jsonl', '--quiet', '-n', '1', '--max-new-tokens', '1',
      '--cross-artifacts', `${artifact},${artifact}`, '--cross-data', `${fx.qaFile},${vizwiz}`, '--cross-formats', 'jsonl,vizwiz', '--json');
    expect(r.code, r.err).toBe(0);
    const j = JSON.parse(r.out) as { scoring: { format: string; vqaScorer: string }[]; cross: { to: string }[] };
    expect(j.scoring.map((s) => [s.format, s.vqaScorer])).toEqual([['jsonl', 'official'], ['vizwiz', 'lavis']]);
    expect(new Set(j.cross.map((c) => c.to))).toEqual(new Set(['task-inference', 'vizwiz']));
    const mismatch = await run('eval', '--model', fx.modelDir, '--data', fx.qaFile, '--format', 'jsonl', '--quiet', '-n', '1',
      '--cross-artifacts', `${artifact},${artifact}`, '--cross-data', `${fx.qaFile},${vizwiz}`, '--cross-formats', 'vizwiz');
    expect(mismatch.code).not.toBe(0);
    expect(mismatch.err).toMatch(/--cross-formats must list one format per --cross-data file \(got 1 and 2\)/);
  });
});
