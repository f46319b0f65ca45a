#!/usr/bin/env node
// `npm start`: the whole method on a local fleet. Starts a coordinator (in this process) and N worker
// processes on the demo model, writes a synthetic dataset (the question is always "what ?"; which
// attribute it asks for is only revealed by the examples, or by the task vector), runs extract ->
// locate -> eval with progress bars and prints zero-shot, k-shot ICL and MTV accuracy, shots
// compressed and wall time per phase, then the artifact's path.
//   --task clean: task-inference (every shot labelled by the asked attribute);
//   --task noisy: noisy-task-inference shots (labelled by the asked attribute with probability 0.3), so
//     evidence must be pooled over many shots; clean queries; rounds of 62 shots (the most that fit the
//     context, so the ICL row is the best ICL that fits) and a shot sweep (62, 248, 2108 shots
//     compressed). The locator's queries are first relabelled by the model's own 62-shot ICL
//     (`mtv relabel`, a child process) and REINFORCE minimises 1 - p(answer) (objective 'prob'): no
//     clean label is used.
//   npm start -- --workers 3 --shots 4 --rounds 200
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { FleetCoordinator, ProgressView, exitWhenDone, formatResultTable, generationMaxNewTokens, parseJobSpec, readModelInfo, type Logger } from '@mtv/coordinator';
import { exitOnBrokenPipe } from '@mtv/kernels';
import { writeTinyCheckpoint } from '@mtv/model';
import { NOISY_MAX_SHOTS, SUB_TASKS, writeDataset, type SubTask } from '@mtv/toy';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const DEMO_MODEL = join(ROOT, 'packages/toy/demo-model');
const WORKER_MAIN = fileURLToPath(new URL('./main.js', import.meta.url));
const MTV_CLI = join(ROOT, 'packages/mtv/dist/cli/main.js');

export const DEMO_TASKS = ['noisy', 'clean'] as const;
export type DemoTask = (typeof DEMO_TASKS)[number];
// clean by default (the quick check of the method); `--task noisy` is the many-shot demo (BENCHMARKS.md, "Many-shot")
export const DEFAULT_TASK: DemoTask = 'clean';

/** Per-task defaults of the flags that differ (explicit flags win). */
const TASK_DEFAULTS: Record<DemoTask, { shots: string; rounds: string; shardSize: string; evalN: string; sweep: string; bestIcl: string; relabelN: string }> = {
  clean: { shots: '4', rounds: '50', shardSize: '5', evalN: '60', sweep: '', bestIcl: '', relabelN: '0' },
  // Rounds of 62 shots, the most that fit the context: a mean over 4-shot rounds stops improving by
  // 64 shots (BENCHMARKS.md, "Many-shot"). 34 rounds = 2108 shots compressed, the largest sweep point;
  // the ICL row is then the best ICL that fits. 60 relabelled queries: the locator's 50 REINFORCE + 10 selection items.
  noisy: { shots: String(NOISY_MAX_SHOTS), rounds: '34', shardSize: '2', evalN: '100', sweep: '62,248,2108', bestIcl: String(NOISY_MAX_SHOTS), relabelN: '60' },
};

interface Flags {
  task: string;
  workers: string;
  threads: string;
  shots?: string;
  rounds?: string;
  shardSize?: string;
  steps: string;
  samples: string;
  evalN?: string;
  sweep?: string;
  bestIclShots?: string;
  relabelN?: string;
  relabelShots: string;
  subTask: string;
  model?: string;
  out: string;
  seed: string;
  resume: boolean;
  fresh: boolean;
}

function program(): Command {
  return new Command('mtv-demo')
    .description('run MTV end to end on a local fleet: a coordinator and worker processes on the demo model')
    .option('--workers <n>', 'worker processes', '2')
    .option('--threads <n>', 'threads (devices) per worker', '1')
    .option('--task <name>', `noisy: noisy shots, clean queries, shot sweep and the best ICL that fits; clean: task-inference, every shot labelled by the asked attribute`, DEFAULT_TASK)
    .option('--shots <n>', `ICL shots per extraction round and in the ICL baseline (default: noisy ${NOISY_MAX_SHOTS}, the most that fit; clean 4)`)
    .option('--rounds <n>', 'extraction rounds (shots compressed = rounds x shots; default: what the largest sweep point needs, noisy 34; clean 50)')
    .option('--shard-size <n>', 'rounds per extract shard (default: noisy 2, clean 5)')
    .option('--steps <n>', 'REINFORCE steps', '40')
    .option('--samples <n>', 'masks per REINFORCE step (paper: 32)', '32')
    .option('--eval-n <n>', 'evaluated queries per mode (default: noisy 100, clean 60)')
    .option('--sweep <shots-list>', "shots compressed of the sweep after locate (default: noisy 62,248,2108; clean none; '' for none)")
    .option('--best-icl-shots <n>', `ICL with the most shots that fit the context, beside the sweep (default: noisy ${NOISY_MAX_SHOTS}; clean none)`)
    .option('--relabel-n <n>', "noisy: locate on the first n shots relabelled by the model's ICL (mtv relabel); 0: on the noisy labels with cross-entropy (default: noisy 60)")
    .option('--relabel-shots <k>', 'noisy: ICL shots per relabelled example', String(NOISY_MAX_SHOTS))
    .option('--sub-task <name>', `the task-inference attribute: ${SUB_TASKS.join(', ')}`, 'colour')
    .option('--model <dir>', 'model directory (default: packages/toy/demo-model)')
    .option('--out <dir>', 'where data, checkpoints, logs and the artifact go', '.mtv-demo')
    .option('--seed <n>', 'seed of the data and the run', '1')
    .option('--resume', 'continue the job checkpointed in <out>/state (after an interrupted run)', false)
    .option('--fresh', 'discard an unfinished checkpoint in <out>/state and start again', false);
}

const log = (m: string): void => void process.stderr.write(`${m}\n`);

async function chooseModel(f: Flags, out: string): Promise<{ dir: string; fallback: boolean }> {
  if (f.model) return { dir: resolve(f.model), fallback: false };
  if (existsSync(join(DEMO_MODEL, 'config.json'))) return { dir: DEMO_MODEL, fallback: false };
  const dir = join(out, 'tiny-random-model');
  log(`demo: the trained demo model is not at ${DEMO_MODEL} (train it with the @mtv/toy package, see packages/toy/README.md).`);
  log('demo: falling back to a tiny RANDOM checkpoint: the fleet runs end to end, but every accuracy is at chance level.');
  if (!existsSync(join(dir, 'config.json'))) await writeTinyCheckpoint(dir, { family: 'clip-llama', seed: 1 });
  return { dir, fallback: true };
}

/** A node child process on the device (headless EGL unless set), stdout and stderr into `logFile`. */
function spawnLogged(args: readonly string[], logFile: string): ChildProcess {
  const child = spawn(process.execPath, [...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, EGL_PLATFORM: process.env.EGL_PLATFORM ?? 'surfaceless' } });
  const file = createWriteStream(logFile);
  child.stdout!.pipe(file);
  child.stderr!.pipe(file);
  return child;
}

/** `mtv relabel` in a child process (its own device); resolves when it exits 0. */
function relabel(model: string, data: string, out: string, n: number, shots: number, seed: number, logFile: string): Promise<void> {
  const child = spawnLogged([MTV_CLI, 'relabel', '-m', model, '--data', data, '-f', 'jsonl', '--shots', String(shots), '-n', String(n), '--seed', String(seed), '-o', out, '--quiet'], logFile);
  return new Promise((res, rej) => {
    child.once('error', rej);
    child.once('exit', (code) => (code === 0 ? res() : rej(new Error(`mtv relabel exited with code ${code}; see ${logFile}`))));
  });
}

function spawnWorker(i: number, url: string, model: string, threads: number, logDir: string): ChildProcess {
  return spawnLogged([WORKER_MAIN, '--connect', url, '--model', model, '--threads', String(threads), '--id', `demo-worker-${i}`], join(logDir, `worker-${i}.log`));
}

export async function runDemo(argv: readonly string[]): Promise<number> {
  const f = program().parse([...argv], { from: 'user' }).opts<Flags>();
  if (f.resume && f.fresh) throw new Error('give one of --resume or --fresh, not both');
  if (!(SUB_TASKS as readonly string[]).includes(f.subTask)) throw new Error(`--sub-task must be one of ${SUB_TASKS.join(', ')}, got '${f.subTask}'`);
  if (!(DEMO_TASKS as readonly string[]).includes(f.task)) throw new Error(`--task must be one of ${DEMO_TASKS.join(', ')}, got '${f.task}'`);
  const task = f.task as DemoTask;
  const d = TASK_DEFAULTS[task];
  const shardSize = Number(f.shardSize ?? d.shardSize);
  const evalN = Number(f.evalN ?? d.evalN);
  const sweepText = (f.sweep ?? d.sweep).trim();
  let sweep = sweepText ? sweepText.split(',').map((x) => Number(x.trim())) : [];
  const shotsText = f.shots ?? d.shots;
  const per = Math.max(1, Number(shotsText));
  // Without --rounds, a sweep gets the rounds its largest point needs (2108 / 62 shots = 34); with
  // --rounds, the default sweep keeps the points those rounds reach (an explicit --sweep is checked as given).
  const rounds = Number(f.rounds ?? (sweep.length > 0 ? String(Math.ceil(Math.max(...sweep) / per)) : d.rounds));
  if (f.sweep === undefined && sweep.some((x) => Math.ceil(x / per) > rounds)) {
    log(`demo: --rounds ${rounds} x ${per} shots reach ${rounds * per} shots compressed: the sweep drops ${sweep.filter((x) => Math.ceil(x / per) > rounds).join(', ')}`);
    sweep = sweep.filter((x) => Math.ceil(x / per) <= rounds);
  }
  const bestText = (f.bestIclShots ?? d.bestIcl).trim();
  const bestIclShots = bestText ? Number(bestText) : undefined;
  const out = resolve(f.out);
  const seed = Number(f.seed);
  const shots = Number(shotsText);
  const nWorkers = Number(f.workers);
  // `--workers 0` would wait for a fleet that never comes.
  for (const [flag, v] of [['--workers', f.workers], ['--threads', f.threads]] as const) {
    if (!/^\d+$/.test(v.trim()) || Number(v) < 1) throw new Error(`${flag} must be a positive integer, got '${v}'`);
  }
  const relabelText = f.relabelN ?? d.relabelN;
  for (const [flag, v] of [['--relabel-n', relabelText], ['--relabel-shots', f.relabelShots]] as const) {
    if (!/^\d+$/.test(v.trim())) throw new Error(`${flag} must be a non-negative integer, got '${v}'`);
  }
  const relabelN = Number(relabelText);
  const relabelShots = Number(f.relabelShots);
  const logDir = join(out, 'logs');
  await mkdir(logDir, { recursive: true });
  const { dir: model, fallback } = await chooseModel(f, out);
  const subTask = f.subTask as SubTask;
  // noisy: 1000 noisy shots to draw from, 200 clean queries of the same sub-task (same prompt layout).
  const trainFamily = task === 'noisy' ? 'noisy-task-inference' : 'task-inference';
  const dataDir = join(out, `data-${task === 'noisy' ? 'noisy-' : ''}${subTask}-${seed}`);
  const trainFile = join(dataDir, 'train', `${trainFamily}.jsonl`);
  const testFile = join(dataDir, 'test', 'task-inference.jsonl');
  if (!existsSync(trainFile) || !existsSync(testFile)) {
    log(`demo: writing the ${trainFamily} (${subTask}) dataset to ${dataDir}`);
    await writeDataset(join(dataDir, 'train'), trainFamily, task === 'noisy' ? 1000 : 300, seed, { subTask });
    await writeDataset(join(dataDir, 'test'), 'task-inference', 200, seed + 1000, { subTask });
  }
  const info = await readModelInfo(model);
  let locateFile: string | undefined;
  if (task === 'noisy' && relabelN > 0) {
    // Keyed by model and settings: another model or setting relabels again.
    locateFile = join(dataDir, 'train', `relabelled-${info.hash.replace(/^sha256:/, '').slice(0, 12)}-${relabelShots}x${relabelN}-${seed}.jsonl`);
    if (!existsSync(locateFile)) {
      const t = Date.now();
      log(`demo: relabelling the first ${relabelN} noisy shots by the model's ${relabelShots}-shot ICL (mtv relabel) for the locator`);
      await relabel(model, trainFile, locateFile, relabelN, relabelShots, seed, join(logDir, 'relabel.log'));
      log(`demo: relabelled in ${((Date.now() - t) / 1000).toFixed(1)} s -> ${locateFile}`);
    }
  }
  const stateDir = join(out, 'state');
  const spec = parseJobSpec({
    jobId: `demo-${task === 'noisy' ? 'noisy-' : ''}${subTask}`,
    data: { file: trainFile, format: 'jsonl' },
    evalData: { file: testFile, format: 'jsonl' },
    ...(locateFile ? { locateData: { file: locateFile, format: 'jsonl' } } : {}),
    model: info,
    extract: { seed, shots, rounds, shardSize },
    locate: { seed, steps: Number(f.steps), samplesPerStep: Number(f.samples), reinforceSize: 50, selectionSize: 10, validationSize: 10, validateEvery: 10, finalSamples: 5, lr: 0.1, ...(locateFile ? { objective: 'prob' } : {}) },
    // The demo model's generation_config.json says its answers are one token (it never learnt to stop),
    // as `mtv eval` and `mtv-coordinator` read it; 20 (the reference) for a model without one.
    eval: {
      seed, n: evalN, shots, modes: ['zero-shot', 'icl', 'mtv'], maxNewTokens: (await generationMaxNewTokens(model)) ?? 20, shardSize: 5,
      ...(sweep.length > 0 ? { sweep } : {}), ...(bestIclShots !== undefined ? { bestIclShots } : {}),
    },
    out: join(out, `mtv-${subTask}.safetensors`),
  });
  // Warnings only: the bars own the terminal.
  const logger: Logger = { info: () => {}, warn: (m) => log(m) };
  const coordinator = new FleetCoordinator({ port: 0, logger });
  const { port } = await coordinator.start();
  const url = `ws://127.0.0.1:${port}`;
  log(`demo: coordinator on ${url}; starting ${nWorkers} worker process(es) on ${model} (logs in ${logDir})`);
  // The page keeps the final state after the demo exits (it shows 'closed' then).
  log(`demo: dashboard: ${coordinator.dashboardUrl()} (live while the job runs; metrics at ${coordinator.dashboardUrl()}metrics)`);
  const workers = Array.from({ length: nWorkers }, (_, i) => spawnWorker(i, url, model, Number(f.threads), logDir));
  const died = workers.map((w, i) => new Promise<never>((_, reject) => w.once('exit', (code) => reject(new Error(`worker ${i} exited with code ${code} before the job finished; see ${join(logDir, `worker-${i}.log`)}`)))));
  // A worker that loaded other weights (the model directory changed after the coordinator hashed it,
  // e.g. while the demo model is being retrained) would leave the job waiting: stop with the reason.
  const mismatch = new Promise<never>((_, reject) => {
    coordinator.server.on('peer', (p) => {
      if (p.capabilities.modelHash !== info.hash) {
        reject(new Error(`worker '${p.id}' loaded model ${p.capabilities.modelHash.slice(0, 16)}, but the coordinator hashed ${info.hash.slice(0, 16)} from ${model}: did the model files change during start-up? Run again.`));
      }
    });
  });
  mismatch.catch(() => {});
  const view = new ProgressView(process.stderr);
  const t0 = Date.now();
  try {
    // A finished job's checkpoint is replaced by a new run; an unfinished one needs --resume or --fresh.
    const result = await Promise.race([coordinator.run({ spec, stateDir, resume: f.resume, fresh: f.fresh || 'finished', minWorkers: nWorkers, emit: view.onEvent }), mismatch, ...died]);
    view.stop();
    const what = task === 'noisy' ? `noisy task-inference task (${subTask}: shots labelled by it with probability 0.3, clean queries)` : `task-inference task (${subTask})`;
    process.stdout.write(`\nMTV on the toy ${what}: ${nWorkers} worker(s), total ${((Date.now() - t0) / 1000).toFixed(1)} s\n\n`);
    process.stdout.write(`${formatResultTable(result)}\n`);
    if (fallback) process.stdout.write('\n(tiny random model: accuracies are meaningless; train packages/toy/demo-model for the real demo)\n');
    process.stdout.write(`\nMTV artifact: ${result.artifact}\n`);
    return 0;
  } finally {
    view.stop();
    for (const p of died) p.catch(() => {});
    await coordinator.close({ reason: 'demo done', reconnect: false });
    for (const w of workers) if (w.exitCode === null) w.kill('SIGTERM');
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === resolve(process.argv[1])) {
  exitOnBrokenPipe();
  exitWhenDone('demo', runDemo(process.argv.slice(2)));
}
