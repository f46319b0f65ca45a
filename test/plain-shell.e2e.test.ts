// Started from a plain shell: no EGL_PLATFORM in the environment (issue 11, item 1). Dawn's OpenGL ES
// backend needs EGL_PLATFORM=surfaceless on hosts without a display, and native code (Mesa) reads only
// the real process environment: a worker thread's process.env is a copy it never sees. So the worker
// (which opens its devices in threads), the coordinator, the `mtv` CLI and the kernels selfcheck must
// each get a device with the variable deleted from their environment. (scripts/run-tests.mjs and
// vitest.config.ts set it for the suite, so every child here deletes it.)
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { writeTinyCheckpoint } from '@mtv/model';
import { readArtifact } from '@mtv/mtv';
import { writeDataset } from '@mtv/toy';
import { ROOT, buildDist, coordinatorProc, freePort, workerProc, type Proc } from './fleet-procs.js';

/** The suite's environment without EGL_PLATFORM (spawn drops undefined values). */
const PLAIN: NodeJS.ProcessEnv = { EGL_PLATFORM: undefined, MTV_GPU_BACKEND: undefined };
const plainEnv = (): NodeJS.ProcessEnv => {
  const env = { ...process.env };
  delete env.EGL_PLATFORM;
  delete env.MTV_GPU_BACKEND;
  return env;
};

let dir = '';
let model = '';
let train = '';

beforeAll(async () => {
  buildDist();
  const tsc = join(ROOT, 'node_modules/typescript/bin/tsc');
  const b = spawnSync(process.execPath, [tsc, '-b', 'packages/kernels'], { cwd: ROOT, encoding: 'utf8' });
  if (b.status !== 0) throw new Error(`tsc -b packages/kernels failed:\n${b.stdout}${b.stderr}`);
  dir = await mkdtemp(join(tmpdir(), 'mtv-plain-'));
  model = join(dir, 'model');
  await writeTinyCheckpoint(model, { family: 'clip-llama', seed: 3 });
  await writeDataset(join(dir, 'train'), 'task-inference', 12, 11, { subTask: 'colour' });
  train = join(dir, 'train', 'task-inference.jsonl');
}, 120_000);
afterAll(() => (dir ? rm(dir, { recursive: true, force: true }) : undefined));

const procs: Proc[] = [];
afterEach(() => {
  for (const p of procs.splice(0)) p.kill('SIGKILL');
});

describe('no EGL_PLATFORM in the environment', () => {
  it('a hand-started worker (devices in worker threads) gets a device and finishes a coordinator job', async () => {
    const port = await freePort();
    const out = join(dir, 'plain.safetensors');
    const c = coordinatorProc([
      '--port', String(port), '--data', train, '--model', model, '--shots', '2', '--rounds', '4', '--shard-size', '2',
      '--no-locate', '--no-eval', '--state', join(dir, 'plain-state'), '--out', out,
    ], PLAIN);
    procs.push(c);
    await c.waitFor(/MTV_COORDINATOR_LISTENING/);
    const w = workerProc('plain', ['--connect', `ws://127.0.0.1:${port}`, '--model', model], PLAIN);
    procs.push(w);
    await w.waitFor(/MTV_WORKER_READY/, 180_000);
    expect(w.lines.join('\n')).not.toMatch(/No WebGPU adapter found/);
    await c.waitFor(/MTV artifact: /, 180_000);
    expect((await c.exited).code).toBe(0);
    expect((await w.exited).code).toBe(0);
    expect((await readArtifact(out)).sums.count).toBe(4);
  }, 400_000);

  it('the mtv CLI (main thread) gets a device', () => {
    const out = join(dir, 'cli.safetensors');
    const r = spawnSync(process.execPath, [join(ROOT, 'packages/coordinator/dist/cli/mtv.js'), 'extract', '-m', model, '--data', train, '-f', 'jsonl',
      '--shots', '2', '--rounds', '2', '--shard-size', '2', '-q', '-o', out], { cwd: ROOT, encoding: 'utf8', env: plainEnv(), timeout: 240_000 });
    expect(r.stderr).not.toMatch(/No WebGPU adapter found/);
    expect(r.status, r.stderr).toBe(0);
  }, 260_000);

  it('the kernels selfcheck gets a device, and a thread that cannot is told how to fix it', () => {
    const r = spawnSync(process.execPath, [join(ROOT, 'packages/kernels/dist/cli/selfcheck.js'), '--no-speed'], { cwd: ROOT, encoding: 'utf8', env: plainEnv(), timeout: 240_000 });
    expect(r.status, r.stderr).toBe(0);
    // A device asked for in a thread whose process never set the variable: the message names the cause.
    const script = `
      import { Worker } from 'node:worker_threads';
      new Worker(${JSON.stringify(`(async () => {
        const { acquireDevice } = await import(${JSON.stringify(join(ROOT, 'packages/kernels/dist/device.js'))});
        try { (await acquireDevice({ backend: 'opengles' })).destroy(); console.log('GOT_DEVICE'); }
        catch (e) { console.log(e.message); }
      })();`)}, { eval: true });`;
    // The parent is a bare Node process that never imports @mtv/kernels, so nothing set the variable.
    const t = spawnSync(process.execPath, ['--input-type=module', '-e', script], { cwd: ROOT, encoding: 'utf8', env: plainEnv(), timeout: 120_000 });
    if (process.platform === 'linux' && !/GOT_DEVICE/.test(t.stdout)) {
      expect(t.stdout).toMatch(/EGL_PLATFORM=surfaceless in its environment/);
      expect(t.stdout).toMatch(/prepareGpuEnvironment\(\)/);
    }
  }, 400_000); // a cold Mesa shader cache compiles selfcheck's matmul variants (a minute or more on 2 busy cores)
});
