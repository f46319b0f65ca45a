// The many-shot family: its noise rate is what it claims, measured on generated data; it is
// deterministic from its seed; and the plurality bound it documents agrees with a simulation.
import { afterAll, describe, expect, it } from 'vitest';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  NOISY_SIGNAL, SUB_TASKS, analyseImage, attributeWord, formatEpisode, noisyTaskInference, pluralityAccuracy, readJsonlDataset,
  EpisodeStream, NOISY_MAX_SHOTS, TOY_VOCAB, shotAttribute, tokeniseEpisode, writeDataset, type SubTask,
} from '../src/index.js';

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

/** The sub-task a label word belongs to (answer words are disjoint across sub-tasks). */
const labelOf = (scene: Parameters<typeof attributeWord>[0], answer: string): SubTask[] => SUB_TASKS.filter((t) => attributeWord(scene, t) === answer);

describe('noisy task inference', () => {
  it('labels a shot by the asked attribute at the claimed rate, the rest evenly by the other four; the query always by the asked one', () => {
    let asked = 0;
    let total = 0;
    // per asked attribute: how often each other attribute labels a shot
    const other = new Map<SubTask, Map<SubTask, number>>();
    for (let seed = 0; seed < 300; seed++) {
      const ep = noisyTaskInference.episode(seed, 40);
      if (ep.latent.family !== 'noisy-task-inference') throw new Error('wrong latent');
      const t = ep.latent.subTask;
      expect(ep.latent.signal).toBe(NOISY_SIGNAL);
      expect(ep.query.subTask).toBe(t);
      const row = other.get(t) ?? new Map<SubTask, number>();
      other.set(t, row);
      for (const s of ep.shots) {
        total++;
        if (s.subTask === t) asked++;
        else row.set(s.subTask!, (row.get(s.subTask!) ?? 0) + 1);
      }
    }
    // 12,000 shots: the binomial standard error of the rate is 0.0042; 4 sigma is 0.017.
    expect(Math.abs(asked / total - NOISY_SIGNAL)).toBeLessThan(0.017);
    // The noise is uniform over the four other attributes: each gets a quarter of an attribute's
    // noisy shots (about 1,700 per asked attribute: standard error 0.011, 5 sigma 0.053).
    expect([...other.keys()].sort()).toEqual([...SUB_TASKS].sort());
    for (const [t, row] of other) {
      expect(row.has(t)).toBe(false);
      const n = [...row.values()].reduce((a, b) => a + b, 0);
      for (const u of SUB_TASKS.filter((x) => x !== t)) expect(Math.abs((row.get(u) ?? 0) / n - 0.25)).toBeLessThan(0.053);
    }
  });

  it('writes each label as the labelling attribute read back from the pixels', () => {
    for (let seed = 0; seed < 25; seed++) {
      const ep = noisyTaskInference.episode(seed, 6);
      for (const ex of [...ep.shots, ep.query]) {
        const scene = analyseImage(ex.image);
        if (typeof scene === 'string') throw new Error(`unreadable image: ${scene}`);
        expect(ex.question).toBe('what ?');
        expect(labelOf(scene, ex.answer)).toEqual([ex.subTask]);
      }
    }
  });

  it('is deterministic from its seed, keeps the query fixed across shot counts, and honours signal and subTask', () => {
    const text = (seed: number, k: number, signal?: number): string => formatEpisode(noisyTaskInference.episode(seed, k, { signal })).text;
    expect(text(7, 30)).toBe(text(7, 30));
    expect(text(7, 30)).not.toBe(text(8, 30));
    expect(noisyTaskInference.episode(7, 0).query.answer).toBe(noisyTaskInference.episode(7, 62).query.answer);
    // signal 1 is clean task inference; signal 0 never labels a shot by the asked attribute
    const clean = noisyTaskInference.episode(3, 20, { signal: 1, subTask: 'shape' });
    expect(clean.shots.every((s) => s.subTask === 'shape')).toBe(true);
    expect(noisyTaskInference.episode(3, 20, { signal: 0, subTask: 'shape' }).shots.some((s) => s.subTask === 'shape')).toBe(false);
    expect(() => noisyTaskInference.episode(3, 2, { signal: 1.5 })).toThrow(/signal must be a probability in \[0, 1\], got 1.5/);
    expect(shotAttribute(5, 'size', 0.3)).toBe(shotAttribute(5, 'size', 0.3));
  });

  it('plurality bound: exact values at small k, and agrees with a vote over generated episodes', () => {
    expect(pluralityAccuracy(0)).toBeCloseTo(0.2, 12);
    expect(pluralityAccuracy(1)).toBeCloseTo(NOISY_SIGNAL, 12);
    // 2 shots: both asked (0.09), or one asked and a tie broken half the time (2·0.3·0.7 / 2)
    expect(pluralityAccuracy(2)).toBeCloseTo(0.09 + 0.21, 12);
    expect(pluralityAccuracy(1, 1)).toBeCloseTo(1, 12);
    const k = 16;
    let right = 0;
    let asked = 0;
    const n = 1500;
    for (let seed = 0; seed < n; seed++) {
      const ep = noisyTaskInference.episode(seed, k);
      const votes = new Map<string, number>();
      for (const s of ep.shots) votes.set(s.subTask!, (votes.get(s.subTask!) ?? 0) + 1);
      asked += votes.get(ep.query.subTask!) ?? 0;
      const top = Math.max(...votes.values());
      const tied = [...votes.entries()].filter(([, v]) => v === top).map(([t]) => t);
      if (tied.includes(ep.query.subTask!)) right += 1 / tied.length; // ties broken uniformly, in expectation
    }
    // Against the bound at the rate these episodes actually drew (the rate itself is tested above):
    // the vote's standard error at p = 0.5 over 1,500 episodes is 0.013; 4 sigma.
    expect(Math.abs(right / n - pluralityAccuracy(k, asked / (n * k)))).toBeLessThan(0.052);
    expect(pluralityAccuracy(62)).toBeGreaterThan(pluralityAccuracy(16));
  });

  it('trains each shot on the label the prompt shows and the query on the asked attribute', () => {
    const ep = noisyTaskInference.episode(3, 12);
    if (ep.latent.family !== 'noisy-task-inference') throw new Error('wrong latent');
    const seq = tokeniseEpisode(ep, 4);
    expect(seq.targets.map((t) => TOY_VOCAB[t.id])).toEqual([...ep.shots, ep.query].map((e) => e.answer));
    expect(TOY_VOCAB[seq.targets.at(-1)!.id]).toBe(attributeWord(ep.query.image.scene, ep.latent.subTask));
    expect(ep.shots.some((s) => s.answer !== attributeWord(s.image.scene, ep.latent.subTask))).toBe(true);
  });

  it('fits 62 shots and the query in 512 positions; the stream batches long episodes only with long ones', () => {
    const len = tokeniseEpisode(noisyTaskInference.episode(1, NOISY_MAX_SHOTS), 4).ids.length;
    expect(len).toBeLessThanOrEqual(512);
    expect(tokeniseEpisode(noisyTaskInference.episode(1, NOISY_MAX_SHOTS + 1), 4).ids.length).toBeGreaterThan(512);
    const stream = new EpisodeStream({ seed: 2, imageTokens: 4, maxShots: 8, shotRanges: { 'noisy-task-inference': [0, NOISY_MAX_SHOTS] } });
    let mixed = 0;
    let long = 0;
    for (let b = 0; b < 30; b++) {
      const lens = stream.batch(2048).map((s) => s.ids.length);
      expect(lens.reduce((a, x) => a + x, 0)).toBeLessThanOrEqual(2048);
      if (lens.some((l) => l > 256) && lens.some((l) => l <= 256)) mixed++;
      if (lens.every((l) => l > 256)) long++;
    }
    expect(mixed).toBe(0);
    expect(long).toBeGreaterThan(0);
  });

  it('writes a dataset of noisy demonstrations about one sub-task', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'mtv-toy-noisy-'));
    dirs.push(dir);
    const res = await writeDataset(dir, 'noisy-task-inference', 200, 4, { subTask: 'colour' });
    expect(res.files).toEqual(['noisy-task-inference.jsonl']);
    const rows = await readJsonlDataset(join(dir, 'noisy-task-inference.jsonl'));
    expect(rows).toHaveLength(200);
    const colours = rows.filter((row) => ['red', 'green', 'blue', 'yellow', 'purple', 'white'].includes(row.answer)).length;
    // 200 items at rate 0.3: standard error 0.032
    expect(Math.abs(colours / 200 - NOISY_SIGNAL)).toBeLessThan(0.13);
    expect(rows.every((row) => row.question === 'what ?')).toBe(true);
  });
});
