// Issue 10 items 1-3 over the fleet: a VizWiz-format eval scores single-answer items as ten annotators
// (not 0), carries the annotation file to the scorer, and uses the scorer the single-process path uses.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadVqaAnnotations, resolveScoreOptions, vqaAccuracy } from '@mtv/mtv';
import { FleetCoordinator, parseJobSpec, type JobSpec } from '../src/index.js';
import { FakeWorker, capture } from './fleet-fakes.js';

const G = { layers: 2, heads: 3, headDim: 4 };
const HASH = 'sha256:fake-model';
let dir = '';
let file = '';
let annFile = '';
let partialAnn = '';

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mtv-fleet-vqa-'));
  await mkdir(join(dir, 'images'), { recursive: true });
  const lines: string[] = [];
  const anns: unknown[] = [];
  for (let i = 0; i < 12; i++) {
    await writeFile(join(dir, 'images', `v${i}.png`), `image ${i}`);
    lines.push(JSON.stringify({ image: `images/v${i}.png`, question: 'what colour?', answer: 'red', question_id: `q${i}` }));
    // 3 annotators say "Red", 7 say "blue": for the prediction "red", lavis (which leaves the disagreeing
    // ground truths' case alone) gives 0, official (which normalises them) 0.9; the single answer alone gives 1.
    anns.push({ question_id: `q${i}`, answers: [...Array(3).fill('Red'), ...Array(7).fill('blue')].map((a, k) => ({ answer: a, answer_confidence: 'yes', answer_id: k + 1 })) });
  }
  file = join(dir, 'vizwiz.jsonl');
  await writeFile(file, lines.join('\n') + '\n');
  annFile = join(dir, 'ann.json');
  await writeFile(annFile, JSON.stringify({ annotations: anns }));
  partialAnn = join(dir, 'partial.json');
  await writeFile(partialAnn, JSON.stringify({ annotations: anns.slice(0, 5) }));
  return () => rm(dir, { recursive: true, force: true });
});

const cleanup: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f().catch(() => {});
});

function spec(evalOver: Record<string, unknown>, name: string): JobSpec {
  return parseJobSpec({
    jobId: name, data: { file, format: 'vizwiz' }, model: { id: 'fake', hash: HASH, geometry: G },
    extract: { seed: 1, shots: 2, rounds: 3, shardSize: 2 },
    locate: { seed: 1, steps: 2, samplesPerStep: 4, reinforceSize: 4, selectionSize: 3, validationSize: 0, validateEvery: 0, finalSamples: 2, lr: 0.1 },
    eval: { seed: 1, shots: 2, modes: ['zero-shot', 'mtv'], maxNewTokens: 3, shardSize: 4, ...evalOver },
    out: join(dir, `${name}.safetensors`),
  });
}

async function run(s: JobSpec) {
  const c = new FleetCoordinator({ port: 0, heartbeatMs: 100, heartbeatMisses: 2, logger: capture() });
  const { port } = await c.start();
  cleanup.push(() => c.close());
  const w = new FakeWorker({ modelHash: HASH, port, id: 'w' });
  cleanup.push(() => w.close());
  await w.start();
  return c.run({ spec: s, minWorkers: 1 });
}

describe('fleet eval scoring (issue 10)', () => {
  it('single-answer VizWiz items score 1 on a match (the fake worker answers " red" in the mtv mode), 0 otherwise; n = all', async () => {
    const r = await run(spec({}, 'single'));
    expect(r.summaries.map((m) => [m.mode, m.n, m.accuracy])).toEqual([['zero-shot', 12, 0], ['mtv', 12, 1]]);
    expect(r.summaries[0]!.scoring).toEqual(resolveScoreOptions('vizwiz'));
    expect(r.summaries[0]!.scoring.vqaScorer).toBe('lavis');
    // Wilson, not [100%, 100%]
    expect(r.summaries[1]!.lower).toBeLessThan(1);
  });

  it('scores against the annotation file, as the single-process scorer does', async () => {
    const r = await run(spec({ annotations: annFile }, 'annotated'));
    const ann = await loadVqaAnnotations(annFile);
    const single = vqaAccuracy('red', ann.get('q0')!.answers, { variant: 'lavis' });
    expect(single).toBe(0);
    expect(r.summaries.find((m) => m.mode === 'mtv')!.accuracy).toBeCloseTo(single, 12);
    const official = await run(spec({ annotations: annFile, vqaScorer: 'official' }, 'annotated-official'));
    const off = vqaAccuracy('red', ann.get('q0')!.answers, { variant: 'official' });
    expect(off).toBeCloseTo(0.9, 12);
    expect(official.summaries.find((m) => m.mode === 'mtv')!.accuracy).toBeCloseTo(off, 12);
    expect(official.summaries[0]!.scoring.vqaScorer).toBe('official');
  });

  it('refuses annotations that do not cover the evaluated question ids, naming the first missing and the count', async () => {
    await expect(run(spec({ annotations: partialAnn }, 'partial'))).rejects.toThrow(/do not cover 7 of the 12 evaluated question ids \(first missing: q5, q6, q7, q8, q9\)/);
  });
});
