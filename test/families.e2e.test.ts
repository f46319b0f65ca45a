// Issue 12's "done when": SmolVLM-shaped (Idefics3) and Idefics2-shaped tiny checkpoints run
// `mtv run`, `mtv eval` and a fleet job end to end, through the same commands as LLaVA, with real
// processes. The fleet's sums equal a single-process extract() bit for bit on each family.
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadModel, writeTinyIdefics2, writeTinyIdefics3, writeTinyLlavaNext, writeTinyLlavaOnevision, writeTinyQwen2VL, writeTinyVila } from '@mtv/model';
import { extract, loadDataset, type ActivationSums } from '@mtv/mtv';
import { writeDataset } from '@mtv/toy';
import { ROOT, buildDist, coordinatorProc, expectSumsBitIdentical, freePort, workerProc, type Proc } from './fleet-procs.js';

const MTV = join(ROOT, 'packages/coordinator/dist/cli/mtv.js');
const SEED = 7;
const SHOTS = 1;
const ROUNDS = 4;
const SHARD = 2;

const FAMILIES = [
  { name: 'idefics3', write: (dir: string) => writeTinyIdefics3(dir, { seed: 2, doImageSplitting: true }) },
  { name: 'idefics2', write: (dir: string) => writeTinyIdefics2(dir, { seed: 2, doImageSplitting: false }) },
  { name: 'vila', write: (dir: string) => writeTinyVila(dir, { seed: 2 }) },
  { name: 'qwen2-vl', write: (dir: string) => writeTinyQwen2VL(dir, { seed: 2 }) },
  { name: 'qwen2.5-vl', write: (dir: string) => writeTinyQwen2VL(dir, { seed: 2, variant: 'qwen2_5_vl' }) },
  { name: 'llava-next', write: (dir: string) => writeTinyLlavaNext(dir, { seed: 2 }) },
  { name: 'llava-onevision', write: (dir: string) => writeTinyLlavaOnevision(dir, { seed: 2 }) },
];

let dir = '';
let train = '';
const procs: Proc[] = [];

beforeAll(async () => {
  buildDist();
  dir = await mkdtemp(join(tmpdir(), 'mtv-families-'));
  await writeDataset(join(dir, 'train'), 'task-inference', 12, 11, { subTask: 'colour' });
  train = join(dir, 'train', 'task-inference.jsonl');
}, 120_000);
afterAll(() => (dir ? rm(dir, { recursive: true, force: true }) : undefined));
afterEach(() => {
  for (const p of procs.splice(0)) p.kill('SIGKILL');
});

const mtv = (...args: string[]) => spawnSync(process.execPath, [MTV, ...args], { cwd: ROOT, encoding: 'utf8', timeout: 240_000 });

describe.each(FAMILIES)('$name checkpoint through the CLI and the fleet', (f) => {
  let model = '';
  let reference: ActivationSums;

  beforeAll(async () => {
    model = join(dir, f.name);
    await f.write(model);
    const m = await loadModel(model);
    try {
      reference = await extract(m, await loadDataset({ file: train, format: 'jsonl' }), { seed: SEED, shots: SHOTS, rounds: ROUNDS, shardSize: SHARD });
    } finally {
      await m.close();
    }
  }, 240_000);

  it('mtv run writes a located artifact and mtv eval scores every mode with it', () => {
    const out = join(dir, `${f.name}-run.safetensors`);
    const common = ['--model', model, '--data', train, '--format', 'jsonl'];
    const r = mtv('run', ...common, '--shots', String(SHOTS), '--rounds', '2', '--shard-size', '1', '--steps', '1', '--samples', '2',
      '--validate-every', '0', '--final-samples', '1', '--reinforce-size', '2', '--selection-size', '1', '--out', out, '--quiet');
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/wrote .*-run\.safetensors: 2 rounds, heads \[\d+, \d+, \d+\], \d+ of \d+ heads chosen/);
    const ev = mtv('eval', ...common, '--artifact', out, '--shots', '1', '-n', '2', '--max-new-tokens', '2', '--json');
    expect(ev.status, ev.stderr).toBe(0);
    const j = JSON.parse(ev.stdout) as { summaries: { mode: string; n: number }[] };
    expect(j.summaries.map((s) => [s.mode, s.n])).toEqual([['zero-shot', 2], ['icl', 2], ['mtv', 2], ['mtv+icl', 2]]);
  });

  it('a fleet job (coordinator + worker processes) equals the single-process extract bit for bit', async () => {
    const port = await freePort();
    const name = `${f.name}-fleet`;
    const c = coordinatorProc([
      '--port', String(port), '--data', train, '--model', model, '--seed', String(SEED), '--shots', String(SHOTS), '--rounds', String(ROUNDS),
      '--shard-size', String(SHARD), '--no-locate', '--no-eval', '--state', join(dir, name), '--out', join(dir, `${name}.safetensors`), '--workers', '1',
    ]);
    procs.push(c);
    await c.waitFor(/MTV_COORDINATOR_LISTENING/);
    procs.push(workerProc('w1', ['--connect', `ws://127.0.0.1:${port}`, '--model', model]));
    await c.waitFor(/MTV artifact: /, 180_000);
    expect((await c.exited).code).toBe(0);
    const a = await expectSumsBitIdentical(join(dir, `${name}.safetensors`), reference, ROUNDS);
    expect(Array.from(a.sums.means())).toEqual(Array.from(reference.means()));
  });
});
