// The pooling stage's pieces: denoised noisy-task-inference targets (NoisyTargets 'asked'), the
// named plans of `train --plan`, and `train --init` reading a checkpoint back into the trainer's
// flat parameter order (and naming what is wrong with one that does not fit).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeSafetensors } from '@mtv/model';
import { attributeWord } from '../src/tasks/attributes.js';
import { TASK_FAMILIES } from '../src/tasks/families/index.js';
import { toyTokenIds } from '../src/tasks/vocab.js';
import { TINY_TRAIN_ARCH, demoLlavaConfig } from '../src/model/config.js';
import { loadCheckpointWeights, writeDemoCheckpoint } from '../src/train/checkpoint.js';
import { EpisodeStream, tokeniseEpisode } from '../src/train/data.js';
import { initialValues, paramSpecs } from '../src/train/params.js';
import { DEMO_PLAN, POOL_PLAN, TRAIN_PLANS } from '../src/train/plan.js';
import { runTrain } from '../src/cli/train.js';

const word = (w: string): number => toyTokenIds(w)[0]!;

describe('denoised noisy targets', () => {
  it("'asked' trains every shot on its image's asked attribute; 'shown' on the shown label; the prompt is the same", () => {
    const ep = TASK_FAMILIES['noisy-task-inference'].episode(21, 40);
    const shown = tokeniseEpisode(ep, 4, 'shown');
    const asked = tokeniseEpisode(ep, 4, 'asked');
    expect(asked.ids).toEqual(shown.ids);
    expect(asked.targets.map((t) => t.row)).toEqual(shown.targets.map((t) => t.row));
    const sub = ep.latent.family === 'noisy-task-inference' ? ep.latent.subTask : null;
    expect(sub).not.toBeNull();
    ep.shots.forEach((s, j) => {
      expect(shown.targets[j]!.id).toBe(word(s.answer));
      expect(asked.targets[j]!.id).toBe(word(attributeWord(s.image.scene, sub!)));
    });
    // the noise is real: some shown labels differ from the asked attribute, and the query is the same in both
    expect(ep.shots.filter((s) => s.subTask !== sub).length).toBeGreaterThan(10);
    expect(asked.targets.filter((t, j) => t.id !== shown.targets[j]!.id).length).toBeGreaterThan(10);
    expect(asked.targets.at(-1)).toEqual(shown.targets.at(-1));
  });

  it('leaves the other families alone, and the stream applies the mode of the phase', () => {
    for (const f of ['task-inference', 'two-way', 'vqa'] as const) {
      const ep = TASK_FAMILIES[f].episode(5, 3);
      expect(tokeniseEpisode(ep, 4, 'asked')).toEqual(tokeniseEpisode(ep, 4, 'shown'));
    }
    const s = new EpisodeStream({ seed: 3, imageTokens: 4, maxShots: 8 });
    s.setMix(POOL_PLAN[0]!.mix);
    const noisy = s.batch(4000).concat(s.batch(4000)).filter((q) => q.family === 'noisy-task-inference' && q.shots > 8);
    expect(noisy.length).toBeGreaterThan(0);
    // a denoised target need not be the next token: at least one shot per long episode differs
    for (const q of noisy) expect(q.targets.slice(0, -1).some((t) => t.id !== q.ids[t.row + 1])).toBe(true);
  });

  it('names the plans, and refuses an unknown one and --init with --resume', async () => {
    expect(TRAIN_PLANS.demo).toBe(DEMO_PLAN);
    expect(TRAIN_PLANS.pool).toBe(POOL_PLAN);
    expect(POOL_PLAN.at(-1)!.until).toBe(1);
    await expect(runTrain(['--plan', 'fast'])).rejects.toThrow(/--plan: expected one of demo, pool, got "fast"/);
    await expect(runTrain(['--arch', 'tiny', '--init', 'x', '--resume'])).rejects.toThrow(/--init and --resume/);
  });
});

describe('train --init', () => {
  const config = demoLlavaConfig(TINY_TRAIN_ARCH);
  const { specs, total } = paramSpecs(config);

  it('reads a written checkpoint back into the flat order, value for value', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'mtv-init-'));
    try {
      const flat = initialValues(config, specs, 5);
      await writeDemoCheckpoint(join(dir, 'm'), new Map(specs.map((s) => [s.name, flat.slice(s.offset, s.offset + s.size)])), TINY_TRAIN_ARCH);
      const back = await loadCheckpointWeights(join(dir, 'm'), specs, total);
      expect(back.length).toBe(total);
      for (const s of specs) expect(back.subarray(s.offset, s.offset + s.size)).toEqual(flat.subarray(s.offset, s.offset + s.size));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('names a missing tensor and a wrong shape', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'mtv-init-'));
    try {
      const [a, b] = specs;
      const f32 = (n: number): Uint8Array => new Uint8Array(new Float32Array(n).buffer);
      await writeSafetensors(join(dir, 'model.safetensors'), new Map([[a!.name, { dtype: 'F32', shape: a!.shape, data: f32(a!.size) }]]));
      await expect(loadCheckpointWeights(dir, specs, total)).rejects.toThrow(new RegExp(`has no tensor ${b!.name.replace(/\./g, '\\.')}`));
      await writeSafetensors(join(dir, 'model.safetensors'), new Map([[a!.name, { dtype: 'F32', shape: [a!.size], data: f32(a!.size) }]]));
      await expect(loadCheckpointWeights(dir, specs, total)).rejects.toThrow(/this architecture needs F32/);
      await expect(loadCheckpointWeights(join(dir, 'nope'), specs, total)).rejects.toThrow(/nope/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
