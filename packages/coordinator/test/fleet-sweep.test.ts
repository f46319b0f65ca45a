// Issue 15 over real sockets with model-free workers (fleet-fakes.ts): spec.eval.sweep evaluates the MTV
// of each round prefix after locate and eval.bestIclShots adds an ICL baseline; the extraction is cut at
// the sweep's round counts (off the shard grid here), the sums follow that plan under the shard rule and
// the artifact records one run per segment; a coordinator stopped mid-extract resumes with the prefixes
// it had taken; the closing table shows the sweep; a sweep past extract.rounds is refused before any work.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ActivationSums, buildPrompt, loadDataset, readArtifact, sampleRound } from '@mtv/mtv';
import { extractPlan, formatResultTable, parseJobSpec, type JobSpec } from '../src/index.js';
import { FAKE_GEOMETRY, FAKE_HASH, crashAfterShards, fakeTap, sameBits as same, useFleetFixture, type FakeWorker } from './fleet-fakes.js';

const fx = useFleetFixture('mtv-fleet-sweep-');
const G = FAKE_GEOMETRY;

const LOCATE = { seed: 3, steps: 2, samplesPerStep: 4, reinforceSize: 6, selectionSize: 3, validationSize: 0, validateEvery: 0, finalSamples: 2, lr: 0.1 };

function spec(name: string, over: { sweep?: number[]; rounds?: number } = {}): JobSpec {
  return parseJobSpec({
    jobId: name,
    data: { file: fx.trainFile, format: 'jsonl' },
    evalData: { file: fx.testFile, format: 'jsonl' },
    model: { id: 'fake', hash: FAKE_HASH, geometry: G },
    // 3 shots per round: sweep 3, 12, 30 shots = 1, 4, 10 rounds, none a multiple of the shard size.
    extract: { seed: 7, shots: 3, rounds: over.rounds ?? 22, shardSize: 3 },
    locate: LOCATE,
    eval: { seed: 1, n: 8, shots: 2, modes: ['zero-shot', 'icl', 'mtv'], maxNewTokens: 2, shardSize: 3, sweep: over.sweep ?? [3, 12, 30], bestIclShots: 5 },
    out: join(fx.dir, `${name}.safetensors`),
  });
}

/** The single-process sums of the sweep's plan: each planned shard from zero in round order, merged in order. */
async function reference(s: JobSpec): Promise<ActivationSums> {
  const data = await loadDataset({ file: s.data.file, format: s.data.format });
  const total = new ActivationSums([G.layers, G.heads, G.headDim]);
  for (const { r0, r1 } of extractPlan(s)) {
    const shard = new ActivationSums([G.layers, G.heads, G.headDim]);
    for (let r = r0; r < r1; r++) {
      const x = sampleRound(data.examples, { seed: s.extract.seed, round: r, shots: s.extract.shots });
      const p = buildPrompt('jsonl', { shots: x.shots, query: x.query, variant: x.variant });
      shard.add(fakeTap(p.text, await Promise.all(p.images.map(async (f) => new Uint8Array(await readFile(f)))), G));
    }
    total.merge(shard);
  }
  return total;
}

const coordinator = fx.coordinator;
const worker = (port: number, id: string, delay = 0): Promise<FakeWorker> => fx.worker({ port, id, delay: () => delay });

describe('eval.sweep over the fleet (issue 15)', () => {
  it('each prefix evaluated after locate, ICL at bestIclShots, sums under the cut plan, one run per segment, the table rows', async () => {
    const s = spec('sweep');
    expect(extractPlan(s).map((p) => [p.r0, p.r1])).toEqual([[0, 1], [1, 4], [4, 7], [7, 10], [10, 13], [13, 16], [16, 19], [19, 22]]);
    const { c, port } = await coordinator();
    await worker(port, 'a', 2);
    await worker(port, 'b', 5);
    const r = await c.run({ spec: s, minWorkers: 2 });
    expect(r.sweep.map((p) => [p.rounds, p.shotsCompressed, p.summary.mode, p.summary.n, p.summary.accuracy])).toEqual([[1, 3, 'mtv', 8, 1], [4, 12, 'mtv', 8, 1], [10, 30, 'mtv', 8, 1]]);
    expect([r.bestIcl!.mode, r.bestIcl!.shots, r.bestIcl!.n, r.bestIcl!.accuracy]).toEqual(['icl', 5, 8, 0]);
    expect(r.summaries.map((m) => m.mode)).toEqual(['zero-shot', 'icl', 'mtv']);
    const ref = await reference(s);
    expect(same(r.sums.sum, ref.sum) && same(r.sums.sumSq, ref.sumSq)).toBe(true);
    const art = await readArtifact(s.out);
    expect(art.provenance.runs.map((x) => [x.firstRound, x.rounds, x.shardSize])).toEqual([[0, 1, 3], [1, 3, 3], [4, 6, 3], [10, 12, 3]]);
    const table = formatResultTable(r);
    expect(table).toMatch(/^shots compressed +MTV accuracy +95% interval +n +rounds$/m);
    expect(table).toMatch(/^30 +100\.0% +\[\d+\.\d%, 100\.0%\] +8 +10$/m);
    expect(table).toMatch(/^best ICL that fits: 5-shot ICL 0\.0% \[0\.0%, \d+\.\d%\], n 8$/m);
  });

  it("bestIclShots equal to eval.shots reuses the 'icl' mode's result: no second run of the same items", async () => {
    const base = spec('best-is-icl');
    const s = { ...base, eval: { ...base.eval!, bestIclShots: base.eval!.shots } };
    const { c, port } = await coordinator();
    const w = await worker(port, 'a');
    const r = await c.run({ spec: s, minWorkers: 1 });
    expect(r.bestIcl).toEqual(r.summaries.find((m) => m.mode === 'icl'));
    // 3 modes + 3 sweep points, 8 queries in shards of 3: 6 groups x 3 shards, none for a best-ICL group.
    expect(w.received.filter((x) => x.kind === 'eval')).toHaveLength(18);
  });

  it('a coordinator stopped mid-extract resumes with the prefixes it had taken: the same sweep', async () => {
    const s = spec('sweep-resume');
    const stateDir = join(fx.dir, 'state-sweep');
    const first = await coordinator();
    await worker(first.port, 'w1', 15);
    const saved = await crashAfterShards(first.c, s, stateDir, 3);
    expect(saved.extract!.prefixes!.length).toBeGreaterThanOrEqual(1);
    expect(saved.extract!.nextShard).toBeLessThan(8);
    const second = await coordinator();
    await worker(second.port, 'w2');
    const resumed = await second.c.run({ spec: s, stateDir, resume: true, minWorkers: 1 });
    expect(resumed.resumedAt).toBe('extract');
    const straight = await (async () => {
      const t = await coordinator();
      await worker(t.port, 'w3');
      return t.c.run({ spec: { ...s, out: join(fx.dir, 'straight.safetensors') }, minWorkers: 1 });
    })();
    expect(resumed.sweep).toEqual(straight.sweep);
    expect(same(resumed.sums.sum, straight.sums.sum)).toBe(true);
  });

  it('a sweep point past extract.rounds, or two points in one round, is refused before any shard', async () => {
    const { c, port } = await coordinator();
    const w = await worker(port, 'x');
    await expect(c.run({ spec: spec('too-far', { sweep: [3, 300] }), minWorkers: 1 })).rejects.toThrow(/eval\.sweep point 300 shots compressed needs 100 rounds of 3 shots, but extract\.rounds is 22; raise the rounds to at least 100/);
    await expect(c.run({ spec: spec('same-round', { sweep: [4, 5] }), minWorkers: 1 })).rejects.toThrow(/4 and 5 shots both need 2 round\(s\) of 3 shots/);
    expect(w.received.length).toBe(0);
  });
});
