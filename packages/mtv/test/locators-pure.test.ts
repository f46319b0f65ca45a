// The locators' model-free parts: the per-round statistics merge (order- and split-independent), the
// k-means bank, the STV policy transitions, the artifact round trip of locations and bank, bad input.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ActivationSums, MTV_CODE_VERSION, Prng, RoundStats, applyStvLosses, bankRounds, buildBank, checkLocatorChoice, finalStvChoice, initStvState,
  kmeans, maskOf, mergeRoundStats, proposeStv, randomRanking, readArtifact, stvValues, taskVector, writeArtifact,
  type MtvArtifact, type RoundStatsData,
} from '../src/index.js';

const shape = [3, 2, 4] as const;
const N = shape[0] * shape[1] * shape[2];
const tap = (seed: string | number): Float32Array => {
  const r = Prng.derive('tap', seed);
  return Float32Array.from({ length: N }, () => r.nextFloat() * 2 - 1);
};
const same = (a: ArrayLike<number>, b: ArrayLike<number>): boolean => a.length === b.length && Array.from(a).every((v, i) => Object.is(v, b[i]));

/** Shard s of a run of `rounds` rounds (shard size `size`), as a worker would compute it. */
function shardStats(s: number, size: number, rounds: number, keep: Set<number>): RoundStatsData {
  const st = new RoundStats(shape);
  for (let r = s * size; r < Math.min(rounds, (s + 1) * size); r++) st.add(r, tap(`icl${r}`), tap(`zs${r}`), keep.has(r));
  return st.toData();
}

describe('per-round statistics and the k-means bank', () => {
  const rounds = 23;
  const size = 4;
  const shards = Math.ceil(rounds / size);
  const keep = new Set(bankRounds(5, 0, rounds, 16));

  it('the reservoir keeps a seeded subset of at most its size, all rounds when they fit', () => {
    expect(keep.size).toBe(16);
    expect(bankRounds(5, 0, rounds, 16)).toEqual([...keep]);
    expect(bankRounds(5, 10, 8, 16)).toEqual([10, 11, 12, 13, 14, 15, 16, 17]);
    expect(bankRounds(6, 0, rounds, 16)).not.toEqual([...keep]);
  });

  it('gives the same sensitivity bits and the same centres for 1, 2 and 3 workers, whatever the arrival order', () => {
    const results = [1, 2, 3].map((workers) => {
      // Worker w computes shards w, w + workers, ...; results arrive worker by worker, last worker first.
      const arrived: { shardId: number; stats: RoundStatsData }[] = [];
      for (let w = workers - 1; w >= 0; w--) for (let s = w; s < shards; s += workers) arrived.push({ shardId: s, stats: shardStats(s, size, rounds, keep) });
      const total = mergeRoundStats(arrived, shards);
      return { total, bank: buildBank(total, Int32Array.from([0, 3, 5]), 4, 9) };
    });
    for (const r of results.slice(1)) {
      expect(same(r.total.sensitivity, results[0]!.total.sensitivity)).toBe(true);
      expect(r.total.keptRounds).toEqual(results[0]!.total.keptRounds);
      expect(same(r.bank, results[0]!.bank)).toBe(true);
    }
    expect(results[0]!.total.count).toBe(rounds);
    // A different clustering seed gives other centres: the comparison above can fail.
    expect(same(buildBank(results[0]!.total, Int32Array.from([0, 3, 5]), 4, 10), results[0]!.bank)).toBe(false);
  });

  it('sensitivity is the mean L2 norm of (ICL - zero-shot) per head', () => {
    const st = new RoundStats(shape).add(0, tap('a'), tap('b'), false).add(1, tap('c'), tap('d'), false);
    const norm = (x: Float32Array, y: Float32Array, j: number): number => Math.hypot(...Array.from({ length: 4 }, (_, d) => x[j * 4 + d]! - y[j * 4 + d]!));
    const want = Array.from({ length: 6 }, (_, j) => (norm(tap('a'), tap('b'), j) + norm(tap('c'), tap('d'), j)) / 2);
    Array.from(st.scores()).forEach((v, j) => expect(v).toBeCloseTo(want[j]!, 12));
  });

  it('refuses a round merged twice and a shard set with a gap', () => {
    const a = shardStats(0, size, rounds, keep);
    expect(() => new RoundStats(shape).merge(a).merge(a)).toThrow(/round 0 is in the bank twice/);
    expect(() => mergeRoundStats([{ shardId: 0, stats: a }, { shardId: 2, stats: a }])).toThrow(/expected shards 0\.\.1/);
  });

  it('k-means finds separated clusters and refuses C larger than the points', () => {
    const pts = [0, 0.1, 0.2, 10, 10.1, 10.2].map((x) => Float32Array.from([x, -x]));
    const c = kmeans(pts, 2, { seed: 1, stream: 0 });
    const xs = [c[0]!, c[2]!].sort((a, b) => a - b);
    expect(xs[0]).toBeCloseTo(0.1, 5);
    expect(xs[1]).toBeCloseTo(10.1, 5);
    expect(() => kmeans(pts, 7, { seed: 1, stream: 0 })).toThrow(/clusters C = 7 is larger than the 6 activation rounds/);
  });
});

describe('the STV policy', () => {
  it('is deterministic for a seed and learns the centre with the lowest loss', () => {
    const train = (seed: number): Int32Array => {
      let s = initStvState({ seed, locations: 2, clusters: 4, steps: 60, samplesPerStep: 8, lr: 0.1 });
      while (s.step < s.config.steps) {
        const p = proposeStv(s, 5);
        // Synthetic loss: centre 2 at location 0 and centre 1 at location 1 are best.
        s = applyStvLosses(s, p, p.choices.map((ch) => (ch[0] === 2 ? 0 : 1) + (ch[1] === 1 ? 0 : 1)));
      }
      return finalStvChoice(s);
    };
    expect(Array.from(train(3))).toEqual([2, 1]);
    expect(same(train(3), train(3))).toBe(true);
    const a = proposeStv(initStvState({ seed: 3, locations: 2, clusters: 4, steps: 1, samplesPerStep: 8, lr: 0.1 }), 5);
    const b = proposeStv(initStvState({ seed: 4, locations: 2, clusters: 4, steps: 1, samplesPerStep: 8, lr: 0.1 }), 5);
    expect(a.choices.map((c) => c.join()).join()).not.toBe(b.choices.map((c) => c.join()).join());
  });

  it('stvValues puts the chosen centre at each location and the mean elsewhere', () => {
    const means = Float32Array.from({ length: N }, (_, i) => i);
    const centres = Float32Array.from({ length: 2 * 3 * 4 }, (_, i) => 100 + i);
    const v = stvValues(means, [1, 4], centres, 3, [2, 0], 4);
    expect(Array.from(v.subarray(4, 8))).toEqual([108, 109, 110, 111]);
    expect(Array.from(v.subarray(16, 20))).toEqual([112, 113, 114, 115]);
    expect(Array.from(v.subarray(0, 4))).toEqual([0, 1, 2, 3]);
    expect(() => stvValues(means, [1], centres, 3, [3], 4)).toThrow(/chosen centre 3 of location 0 is outside \[0, 3\)/);
  });

  it('random ranking is a seeded permutation', () => {
    const r = randomRanking(4, 4, 1);
    expect([...r].sort((a, b) => a - b)).toEqual(Array.from({ length: 16 }, (_, i) => i));
    expect(randomRanking(4, 4, 1)).toEqual(r);
    expect(randomRanking(4, 4, 2)).not.toEqual(r);
  });
});

describe('locator artifacts and bad input', () => {
  let dir: string;
  beforeAll(() => void (dir = mkdtempSync(path.join(tmpdir(), 'mtv-loc-'))));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const stvArtifact = (): MtvArtifact => {
    const sums = new ActivationSums(shape);
    for (let r = 0; r < 5; r++) sums.add(tap(r));
    const locations = Int32Array.from([1, 4]);
    return {
      sums, logits: null, heads: maskOf(locations, 6),
      locator: { kind: 'stv', locations, bank: { clusters: 3, centres: Float32Array.from({ length: 2 * 3 * 4 }, (_, i) => i / 7), choice: Int32Array.from([2, 0]) } },
      provenance: { modelId: 'tiny', modelHash: 'a'.repeat(64), codeVersion: MTV_CODE_VERSION, runs: [{ datasetHash: 'd', shots: 2, firstRound: 0, rounds: 5, seed: 1, shardSize: 2 }], heads: 'located', notes: { locator: 'stv' } },
    };
  };

  it('an stv artifact round-trips its locations, bank and choices, and apply patches the chosen centres', async () => {
    const a = stvArtifact();
    const f = path.join(dir, 'stv.safetensors');
    await writeArtifact(f, a);
    const b = await readArtifact(f, { modelHash: 'a'.repeat(64), shape: [3, 2, 4] });
    expect(b.locator?.kind).toBe('stv');
    // Version 2: a build that predates the locators refuses it rather than patching the means.
    const { SafetensorsFile } = await import('@mtv/model');
    const st = await SafetensorsFile.open(f);
    expect([st.metadata?.version, st.metadata?.locator]).toEqual(['2', 'stv']);
    await st.close();
    expect(Array.from(b.locator!.locations)).toEqual([1, 4]);
    expect(b.locator!.bank!.clusters).toBe(3);
    expect(same(b.locator!.bank!.centres, a.locator!.bank!.centres)).toBe(true);
    expect(Array.from(b.locator!.bank!.choice)).toEqual([2, 0]);
    const v = taskVector(b);
    expect(same(v.means.subarray(4, 8), a.locator!.bank!.centres.subarray(8, 12))).toBe(true);
    expect(same(v.means.subarray(0, 4), a.sums.means().subarray(0, 4))).toBe(true);
    // An artifact without a locator (older, REINFORCE) still loads and patches the means.
    const old: MtvArtifact = { ...a, locator: null, logits: new Float32Array(6) };
    await writeArtifact(path.join(dir, 'old.safetensors'), old);
    const o = await readArtifact(path.join(dir, 'old.safetensors'));
    const st1 = await SafetensorsFile.open(path.join(dir, 'old.safetensors'));
    expect([st1.metadata?.version, st1.metadata?.locator, st1.has('locations')]).toEqual(['1', undefined, false]);
    await st1.close();
    expect(o.locator ?? null).toBeNull();
    expect(same(taskVector(o).means, a.sums.means())).toBe(true);
  });

  it('an stv artifact applied to a different model is refused, naming both hashes and shapes', async () => {
    const f = path.join(dir, 'stv2.safetensors');
    await writeArtifact(f, stvArtifact());
    await expect(readArtifact(f, { modelHash: 'b'.repeat(64) })).rejects.toThrow(/was built for model tiny \(hash aaaaaaaaaaaaaaaa\.\.\.\), not for this model \(hash bbbbbbbbbbbbbbbb/);
    await expect(readArtifact(f, { shape: [3, 2, 8] })).rejects.toThrow(/activation shape \[3, 2, 4\] does not match the model's \[layers, heads, headDim\] = \[3, 2, 8\]/);
  });

  it('refuses a bank that disagrees with its locations, and K or C out of range, naming the value', async () => {
    const a = stvArtifact();
    await expect(writeArtifact(path.join(dir, 'bad.safetensors'), { ...a, heads: maskOf([1, 5], 6) })).rejects.toThrow(/tensor 'locations' \[1, 4\] disagrees with the heads mask's ones \[1, 5\]/);
    expect(() => checkLocatorChoice({ locator: 'sensitivity', k: 17 }, 4, 4)).toThrow(/--k = 17 is larger than the model's layers x heads = 4 x 4 = 16/);
    expect(() => checkLocatorChoice({ locator: 'random', kGrid: [2, 40] }, 4, 4)).toThrow(/--k-grid value = 40 is larger/);
    expect(() => checkLocatorChoice({ locator: 'stv', clusters: 32 }, 4, 4, 10)).toThrow(/--clusters C = 32 is larger than --rounds = 10/);
    expect(() => checkLocatorChoice({ locator: 'stv', clusters: 8 }, 4, 4, 10)).not.toThrow();
  });
});
