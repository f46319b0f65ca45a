// Issue 15 from the `mtv eval` CLI: --icl-sweep (ICL accuracy at each shot count, zero-shot at 0) with
// --sweep (MTV, shots compressed) and --plot (a PNG of both curves); counts whose prompts exceed the
// model's context (max_position_embeddings incl. the generated tokens) or the shot source are found
// before any generation and reported, never a crash mid-sweep; --plot may not name an input.
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Gpu } from '@mtv/kernels';
import { CURVES_HEIGHT, CURVES_WIDTH, type IclSweepResult, type SweepPoint } from '../src/index.js';
import { makeFixture, runCli, type Fixture } from './e2e-fixture.js';

let fx: Fixture;
let gpu: Gpu;
let artifact = '';
const run = (...argv: string[]): Promise<{ code: number; out: string; err: string }> => runCli(gpu, argv);
const data = (): string[] => ['--model', fx.modelDir, '--data', fx.qaFile, '--format', 'jsonl', '--quiet'];

beforeAll(async () => {
  // 48 items: the tiny checkpoint's 512 positions hold about 38 of them, so counts past the context exist below the pool (47).
  fx = await makeFixture({ n: 48 });
  gpu = await Gpu.create();
  artifact = join(fx.root, 'a.safetensors');
  const r = await run('run', ...data(), '--shots', '1', '--rounds', '2', '--shard-size', '1', '--steps', '1', '--samples', '2',
    '--validate-every', '0', '--final-samples', '1', '--reinforce-size', '2', '--selection-size', '1', '--out', artifact);
  expect(r.code, r.err).toBe(0);
});

afterAll(async () => {
  gpu?.destroy();
  await fx?.cleanup();
});

interface SweepJson {
  sweep: SweepPoint[] | null;
  iclSweep: IclSweepResult;
  plot: string;
}

describe('mtv eval --icl-sweep / --plot (issue 15)', () => {
  it('MTV and ICL curves in one run: both in --json, a PNG of the right size, over-long and over-pool counts skipped with reasons', async () => {
    const png = join(fx.root, 'curves.png');
    const r = await run('eval', ...data(), '-a', artifact, '--shots', '1', '--shard-size', '1', '-n', '2', '--max-new-tokens', '2',
      '--sweep', '2,4', '--icl-sweep', '0,1,2,45,60', '--plot', png, '--json');
    expect(r.code, r.err).toBe(0);
    const j = JSON.parse(r.out) as SweepJson;
    expect(j.sweep!.map((p) => [p.rounds, p.shotsCompressed, p.summary.mode, p.summary.n])).toEqual([[2, 2, 'mtv', 2], [4, 4, 'mtv', 2]]);
    expect(j.iclSweep.points.map((p) => [p.shots, p.summary.mode, p.summary.shots, p.summary.n])).toEqual([[0, 'zero-shot', 0, 2], [1, 'icl', 1, 2], [2, 'icl', 2, 2]]);
    for (const p of j.iclSweep.points) expect(p.summary.lower).toBeLessThanOrEqual(p.summary.accuracy);
    expect(j.iclSweep.skipped.map((s) => s.shots)).toEqual([45, 60]);
    expect(j.iclSweep.skipped[0]!.reason).toMatch(/prompt tokens \+ 2 generated exceed the model's context of 512 positions/);
    expect(j.iclSweep.skipped[1]!.reason).toMatch(/60 shots need 60 examples besides the query; the shot source .* has 47/);
    expect(j.iclSweep.context).toMatchObject({ positions: 512, newTokens: 2 });
    const most = j.iclSweep.context.maxShots!;
    expect(most).toBeGreaterThanOrEqual(2);
    expect(most).toBeLessThan(45);
    expect(r.err).toMatch(new RegExp(`at most ${most} shots fit`));
    expect(r.err).toMatch(/skipping 45 shots: query 0 /);
    const meta = await sharp(png).metadata();
    expect([meta.format, meta.width, meta.height]).toEqual(['png', 2 * CURVES_WIDTH, 2 * CURVES_HEIGHT]);
    const { data: px } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
    expect(new Set(px).size).toBeGreaterThan(8); // drawn, not blank

    // The boundary the check found: `most` shots are evaluated, one more is skipped, in the text table.
    const t = await run('eval', ...data(), '-n', '2', '--max-new-tokens', '2', '--icl-sweep', `${most},${most + 1}`);
    expect(t.code, t.err).toBe(0);
    expect(t.out).toMatch(new RegExp(`^icl @ ${most} shots in context +${most} +vqa +2 `, 'm'));
    expect(t.out).toMatch(new RegExp(`^icl @ ${most + 1} shots: skipped \\(query \\d+ .*exceed the model's context of 512 positions\\)$`, 'm'));
    expect(t.out).toMatch(new RegExp(`^context: 512 positions; at most ${most} shots in context fit$`, 'm'));
  }, 240_000);

  it('the same count without the check fails with the runtime\'s context error (what the sweep avoids)', async () => {
    const r = await run('eval', ...data(), '-n', '1', '--max-new-tokens', '2', '--modes', 'icl', '--shots', '45');
    expect(r.code).not.toBe(0);
    expect(r.err).toMatch(/tokens exceed the model's context of 512 positions/);
  }, 60_000);

  it('--plot may not overwrite an input and needs a sweep', async () => {
    const inputs = await run('eval', ...data(), '--icl-sweep', '0,1', '-n', '1', '--plot', fx.qaFile);
    expect(inputs.code).not.toBe(0);
    expect(inputs.err).toMatch(/--plot .* is the input --data .*refusing to overwrite an input/);
    const alone = await run('eval', ...data(), '-n', '1', '--plot', join(fx.root, 'x.png'));
    expect(alone.code).not.toBe(0);
    expect(alone.err).toMatch(/--plot needs --sweep and\/or --icl-sweep/);
  });
});
