// Issue 15: `npm start` (apps/worker/dist/demo.js) on the noisy many-shot task (`--task noisy`), with small
// settings: a coordinator and a real worker process on the demo model; the output ends with the result
// table, the shots-compressed -> MTV accuracy section (one row per sweep point) and the best-ICL-that-fits
// line; the locator runs on shots relabelled by the model's own ICL. Behaviour only (the accuracies depend on the model). A smaller noisy dataset is written where the
// demo looks for its data first, so the run does not spend its time writing 1200 images.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeDataset } from '@mtv/toy';
import { ROOT, buildDist } from './fleet-procs.js';

const DEMO = join(ROOT, 'apps/worker/dist/demo.js');
let dir = '';

beforeAll(async () => {
  buildDist();
  dir = await mkdtemp(join(tmpdir(), 'mtv-demo-noisy-'));
  const data = join(dir, 'out', 'data-noisy-colour-1');
  await writeDataset(join(data, 'train'), 'noisy-task-inference', 40, 1, { subTask: 'colour' });
  await writeDataset(join(data, 'test'), 'task-inference', 10, 1001, { subTask: 'colour' });
}, 180_000);
afterAll(() => (dir ? rm(dir, { recursive: true, force: true }) : undefined));

const demo = (args: string[]) => spawnSync(process.execPath, [DEMO, ...args], {
  cwd: ROOT, encoding: 'utf8', timeout: 240_000, env: { ...process.env, EGL_PLATFORM: process.env.EGL_PLATFORM ?? 'surfaceless' },
});

describe('npm start --task noisy (issue 15)', () => {
  it('noisy shots, clean queries, the sweep rows and the best ICL that fits after the table', () => {
    const r = demo(['--task', 'noisy', '--shots', '4', '--workers', '1', '--out', join(dir, 'out'), '--steps', '2', '--samples', '4', '--eval-n', '3', '--sweep', '4,16,32', '--shard-size', '2', '--best-icl-shots', '8', '--relabel-n', '6', '--relabel-shots', '8']);
    expect(r.status, `${r.stdout}\n${r.stderr}`).toBe(0);
    // The locator's queries: the first 6 shots relabelled by 8-shot ICL in a child `mtv relabel`.
    expect(r.stderr).toMatch(/demo: relabelling the first 6 noisy shots by the model's 8-shot ICL \(mtv relabel\)/);
    const relabelled = readdirSync(join(dir, 'out', 'data-noisy-colour-1', 'train')).filter((n) => /^relabelled-[0-9a-f]{12}-8x6-1\.jsonl$/.test(n));
    expect(relabelled).toHaveLength(1);
    expect(r.stdout).toMatch(/MTV on the toy noisy task-inference task \(colour: shots labelled by it with probability 0\.3, clean queries\)/);
    // Without --rounds the sweep's largest point sets them: 32 shots / 4 per round = 8 rounds.
    expect(r.stdout).toMatch(/^shots compressed +32 \(8 rounds x 4 shots\)$/m);
    const rows = r.stdout.match(/^(4|16|32) +\d+\.\d% +\[\d+\.\d%, \d+\.\d%\] +3 +(1|4|8)$/gm) ?? [];
    expect(rows.map((l) => l.split(/ +/)[0])).toEqual(['4', '16', '32']);
    expect(r.stdout).toMatch(/^best ICL that fits: 8-shot ICL \d+\.\d% \[\d+\.\d%, \d+\.\d%\], n 3$/m);
    expect(r.stdout).toMatch(/^4-shot ICL +\d+\.\d%/m);
    expect(r.stdout).toMatch(/MTV artifact: .*mtv-colour\.safetensors/);
  }, 300_000);

  it('an unknown --task is refused, naming the tasks', () => {
    const r = demo(['--task', 'fuzzy', '--out', join(dir, 'bad')]);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/--task must be one of noisy, clean, got 'fuzzy'/);
  });
});
