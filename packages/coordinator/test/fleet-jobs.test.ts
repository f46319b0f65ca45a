// The coordinator's jobs over real sockets with model-free workers (fleet-fakes.ts): distributed sums
// equal the single-process shard rule bit for bit whatever the completion order, lost workers'
// shards are reassigned, duplicates and refused results never count twice, and a coordinator that
// stops mid-job resumes from its checkpoint to the identical result.
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { accumulateRounds, buildPrompt, loadDataset, readArtifact, sampleRound, type ActivationSums } from '@mtv/mtv';
import { parseJobSpec, type JobSpec, type PipelineEvent } from '../src/index.js';
import { FAKE_GEOMETRY, FAKE_HASH, crashAfterShards, fakeTap, sameBits as same, useFleetFixture } from './fleet-fakes.js';

const fx = useFleetFixture('mtv-fleet-');
const G = FAKE_GEOMETRY;
const HASH = FAKE_HASH;

function spec(over: Partial<JobSpec> = {}, name = 'job'): JobSpec {
  return parseJobSpec({
    jobId: name,
    data: { file: fx.trainFile, format: 'jsonl' },
    evalData: { file: fx.testFile, format: 'jsonl' },
    model: { id: 'fake', hash: HASH, geometry: G },
    extract: { seed: 7, shots: 3, rounds: 22, shardSize: 3 },
    locate: null,
    eval: null,
    out: join(fx.dir, `${name}.safetensors`),
    ...over,
  });
}

/** The single-process sums: the same taps, added under the shard rule (accumulateRounds). */
async function reference(s: JobSpec): Promise<ActivationSums> {
  const data = await loadDataset({ file: s.data.file, format: s.data.format });
  const taps: Float32Array[] = [];
  for (let r = 0; r < s.extract.rounds; r++) {
    const x = sampleRound(data.examples, { seed: s.extract.seed, round: r, shots: s.extract.shots });
    const p = buildPrompt('jsonl', { shots: x.shots, query: x.query, variant: x.variant });
    taps.push(fakeTap(p.text, await Promise.all(p.images.map(async (f) => new Uint8Array(await readFile(f)))), G));
  }
  return accumulateRounds(taps, [G.layers, G.heads, G.headDim], s.extract.shardSize);
}

const coordinator = fx.coordinator;
const worker = fx.worker;

describe('extract over the fleet', () => {
  it('three workers finishing in random order give the single-process sums bit for bit', async () => {
    const s = spec({}, 'three');
    const { c, port } = await coordinator();
    const ws = await Promise.all(['a', 'b', 'c'].map((id) => worker({ port, id, delay: () => Math.random() * 30 })));
    const r = await c.run({ spec: s, minWorkers: 3 });
    const ref = await reference(s);
    expect(r.sums.count).toBe(22);
    expect(same(r.sums.sum, ref.sum)).toBe(true);
    expect(same(r.sums.sumSq, ref.sumSq)).toBe(true);
    expect(ws.every((w) => w.received.length > 0)).toBe(true);
    const art = await readArtifact(s.out);
    expect(same(art.sums.sum, ref.sum)).toBe(true);
  });

  it('a worker that hangs and drops: its shards are reassigned; duplicates and NaN results never count', async () => {
    const s = spec({}, 'faults');
    const { c, port, log } = await coordinator();
    await worker({ port, id: 'dup', behaviour: () => 'duplicate', delay: () => 5 });
    await worker({ port, id: 'nan', behaviour: (_s, nth) => (nth === 1 ? 'nan' : 'ok'), delay: () => 5 });
    const hang = await worker({ port, id: 'hang', behaviour: () => 'hang' });
    // Drop the hanging worker once it holds a shard (as if the process died).
    const dropped = (async () => {
      while (hang.received.length === 0) await new Promise((res) => setTimeout(res, 5));
      await hang.close();
    })();
    const r = await c.run({ spec: s, minWorkers: 3 });
    await dropped;
    const ref = await reference(s);
    expect(same(r.sums.sum, ref.sum)).toBe(true);
    expect(r.sums.count).toBe(22);
    const text = log.lines.join('\n');
    expect(text).toMatch(/worker 'hang' lost .*reassigning shards/);
    expect(text).toMatch(/ignoring a duplicate result/);
    expect(text).toMatch(/result from 'nan' refused: result sum\[0\] is NaN/);
  });

  it('a non-retryable shard error fails the job with its reason', async () => {
    const { c, port } = await coordinator();
    await worker({ port, id: 'bad', behaviour: () => 'fail' });
    await expect(c.run({ spec: spec({}, 'fails'), minWorkers: 1 })).rejects.toThrow(/shard \d+ of job fails.extract failed: 'bad' reported internal: injected failure/);
  });

  it('a worker holding another model gets no shards', async () => {
    const { c, port, log } = await coordinator();
    const other = await worker({ port, id: 'other', modelHash: 'sha256:other' });
    await worker({ port, id: 'right', delay: () => 1 });
    const r = await c.run({ spec: spec({}, 'models'), minWorkers: 1 });
    expect(r.sums.count).toBe(22);
    expect(other.received).toHaveLength(0);
    expect(log.lines.join('\n')).toMatch(/worker 'other' holds model sha256:other, the job needs sha256:fake-model/);
  });
});

describe('checkpoint and resume', () => {
  it('a coordinator stopped mid-extract resumes from its checkpoint to the identical sums', async () => {
    const s = spec({}, 'resume-extract');
    const stateDir = join(fx.dir, 'state-extract');
    const first = await coordinator();
    await worker({ port: first.port, id: 'w1', delay: () => 15 });
    // Session 1: stop serving (the "crash") once some shards are merged and saved.
    const saved = await crashAfterShards(first.c, s, stateDir, 3);
    const mergedBefore = saved.extract!.nextShard;
    expect(mergedBefore).toBeLessThan(8);
    // Session 2: a new coordinator on the same state directory.
    const second = await coordinator();
    const w2 = await worker({ port: second.port, id: 'w2' });
    const r = await second.c.run({ spec: s, stateDir, resume: true, minWorkers: 1 });
    expect(r.resumedAt).toBe('extract');
    const ref = await reference(s);
    expect(same(r.sums.sum, ref.sum)).toBe(true);
    expect(r.sums.count).toBe(22);
    // Only the unmerged shards were computed again.
    const redone = new Set(w2.received.map((x) => x.shardId));
    for (let k = 0; k < mergedBefore; k++) expect(redone.has(k)).toBe(false);
  });

  it('refuses to resume a checkpoint of other settings, naming the difference', async () => {
    const stateDir = join(fx.dir, 'state-other');
    const { c, port } = await coordinator();
    await worker({ port, id: 'w' });
    await c.run({ spec: spec({}, 'other'), stateDir, minWorkers: 1 });
    const changed = spec({ extract: { seed: 8, shots: 3, rounds: 22, shardSize: 3 } }, 'other');
    await expect(c.run({ spec: changed, stateDir, resume: true })).rejects.toThrow(/extract\.seed: 7 -> 8/);
  });

  it('a restart without --resume over a checkpoint refuses before any work, naming --resume and --fresh; --fresh replaces it (issue 11 item 4)', async () => {
    const stateDir = join(fx.dir, 'state-fresh');
    const { c, port } = await coordinator();
    await worker({ port, id: 'w' });
    await c.run({ spec: spec({}, 'fresh'), stateDir, minWorkers: 1 });
    await expect(c.run({ spec: spec({}, 'fresh'), stateDir, minWorkers: 1 })).rejects.toThrow(/holds a checkpoint of job fresh \(phase done.*pass --resume to continue it, or --fresh to discard it/);
    const again = await c.run({ spec: spec({}, 'fresh'), stateDir, fresh: true, minWorkers: 1 });
    expect(again.resumedAt).toBeNull();
    expect(again.sums.count).toBe(22);
    // A finished job's checkpoint may be replaced on request only ('finished', what npm start passes).
    const demo = await c.run({ spec: spec({}, 'fresh'), stateDir, fresh: 'finished', minWorkers: 1 });
    expect(demo.resumedAt).toBeNull();
  });

  it("locate with objective 'prob': steps, validation and selection see 1 - p of the workers' cross-entropies", async () => {
    const locate = { seed: 3, steps: 4, samplesPerStep: 6, reinforceSize: 10, selectionSize: 4, validationSize: 4, validateEvery: 2, finalSamples: 3, lr: 0.1 };
    const a = await coordinator();
    await worker({ port: a.port, id: 'o1', delay: () => 1 });
    const run = async (objective: 'ce' | 'prob', name: string) => {
      const events: PipelineEvent[] = [];
      const r = await a.c.run({ spec: spec({ locate: { ...locate, objective } }, name), minWorkers: 1, emit: (e) => events.push(e) });
      const losses = events.flatMap((e) => (e.kind === 'locate-step' || e.kind === 'locate-validation' ? [e.kind === 'locate-step' ? e.meanLoss : e.loss] : []));
      return { selection: r.located!.selectionLoss, losses };
    };
    // the fake workers' cross-entropies lie in [1, 2), so 1 - p lies in [1 - e^-1, 1 - e^-2)
    const ce = await run('ce', 'obj-ce');
    const prob = await run('prob', 'obj-prob');
    for (const x of [ce.selection, ...ce.losses]) expect(x >= 1 && x < 2).toBe(true);
    for (const x of [prob.selection, ...prob.losses]) expect(x >= 1 - Math.exp(-1) && x < 1 - Math.exp(-2)).toBe(true);
    expect(prob.losses).toHaveLength(ce.losses.length);
  });

  it("locateData supplies the locator's queries: the same file as data changes nothing, another file changes the heads' logits", async () => {
    const locate = { seed: 3, steps: 4, samplesPerStep: 6, reinforceSize: 10, selectionSize: 4, validationSize: 0, validateEvery: 0, finalSamples: 3, lr: 0.1 };
    const a = await coordinator();
    await worker({ port: a.port, id: 'l1', delay: () => 1 });
    const logits = async (name: string, locateData?: string) =>
      (await a.c.run({ spec: spec({ locate, ...(locateData ? { locateData: { file: locateData, format: 'jsonl' } } : {}) }, name), minWorkers: 1 })).located!.state.logits;
    // The fake losses hash the zero-shot prompt text, so the other file asks another question.
    const other = join(fx.dir, 'locate-other.jsonl');
    const lines = (await readFile(fx.trainFile, 'utf8')).trim().split('\n').map((l) => JSON.stringify({ ...JSON.parse(l), question: 'which colour ?' }));
    await writeFile(other, `${lines.join('\n')}\n`);
    const plain = await logits('ld-none');
    expect(same(await logits('ld-same', fx.trainFile), plain)).toBe(true);
    expect(same(await logits('ld-other', other), plain)).toBe(false);
  });

  it('the whole pipeline: locate resumed mid-way gives the uninterrupted logits and heads; eval scores each mode', async () => {
    const locate = { seed: 3, steps: 6, samplesPerStep: 6, reinforceSize: 10, selectionSize: 4, validationSize: 4, validateEvery: 2, finalSamples: 3, lr: 0.1 };
    const evalSpec = { seed: 1, n: 8, shots: 2, modes: ['zero-shot', 'icl', 'mtv'] as const, maxNewTokens: 2, shardSize: 3 };
    const full = spec({ locate, eval: { ...evalSpec, modes: [...evalSpec.modes] } }, 'pipe');
    const a = await coordinator();
    await worker({ port: a.port, id: 'p1', delay: () => 2 });
    await worker({ port: a.port, id: 'p2', delay: () => 4 });
    const events: PipelineEvent[] = [];
    const straight = await a.c.run({ spec: full, minWorkers: 2, emit: (e) => events.push(e) });
    expect(straight.summaries.map((m) => [m.mode, m.n, m.accuracy])).toEqual([['zero-shot', 8, 0], ['icl', 8, 0], ['mtv', 8, 1]]);
    expect(events.filter((e) => e.kind === 'locate-validation').map((e) => (e as { step: number }).step)).toEqual([0, 2, 4]);

    // Same job, interrupted after locate step 3, resumed by a new coordinator.
    const stateDir = join(fx.dir, 'state-pipe');
    const b = await coordinator();
    await worker({ port: b.port, id: 'q1', delay: () => 2 });
    const stopped = new Promise<void>((resolve) => {
      void b.c.run({
        spec: { ...full, out: join(fx.dir, 'pipe2.safetensors') }, stateDir, minWorkers: 1,
        emit: (e) => {
          if (e.kind === 'locate-step' && e.step === 3) void b.c.close({ reconnect: true }).then(resolve);
        },
      }).catch(() => {});
    });
    await stopped;
    const c2 = await coordinator();
    await worker({ port: c2.port, id: 'q2', delay: () => 1 });
    const resumed = await c2.c.run({ spec: { ...full, out: join(fx.dir, 'pipe2.safetensors') }, stateDir, resume: true, minWorkers: 1 });
    expect(resumed.resumedAt).toBe('locate');
    expect(same(resumed.located!.state.logits, straight.located!.state.logits)).toBe(true);
    expect(Array.from(resumed.located!.heads)).toEqual(Array.from(straight.located!.heads));
    expect(resumed.summaries).toEqual(straight.summaries);
    const art = await readArtifact(join(fx.dir, 'pipe2.safetensors'));
    expect(Array.from(art.heads!)).toEqual(Array.from(straight.located!.heads));
    expect(art.provenance.heads).toBe('located');
  });
});
