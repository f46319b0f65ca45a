// The coordinator command: flags, serving, the job, the closing table. Returns an exit code.
import { resolve } from 'node:path';
import { Command } from 'commander';
import { checkOutputs, shotsPerRound, writeFileAtomic } from '@mtv/mtv';
import { FleetCoordinator } from '../fleet/index.js';
import { LEASE_DEFAULTS } from '../scheduler/index.js';
import type { PipelineResult } from '../jobs/index.js';
import { commandLogger } from '../net/logger.js';
import { isLoopbackHost } from '../net/security.js';
import { JOB_FAILED } from '../protocol/index.js';
import { parseCommand } from './parse-command.js';
import { ProgressView } from './progress.js';
import { addSpecOptions, specFromFlags, type SpecFlags } from './spec-options.js';
import { formatResultTable } from './table.js';

interface ServeFlags extends SpecFlags {
  port: string;
  host: string;
  token?: string;
  state?: string;
  resume: boolean;
  fresh: boolean;
  workers: string;
  heartbeatMs: string;
  heartbeatMisses: string;
  checkpointMs: string;
  json?: string;
  progress: boolean;
  quiet: boolean;
  keepServing: boolean;
  leaseInitialMs: string;
  leaseFloorMs: string;
  leaseFactor: string;
  verify: string;
  dashboard: boolean;
}

export function coordinatorProgram(): Command {
  const c = new Command('coordinator')
    .description('serve MTV fleet workers over WebSocket and run one extract -> locate -> eval job')
    .option('--port <n>', 'port to listen on (0: any free port)', '7070')
    .option('--host <host>', 'interface to bind; anything but loopback requires --token', '127.0.0.1')
    .option('--token <secret>', 'shared secret workers must present (default: $MTV_TOKEN)')
    .option('--state <dir>', 'checkpoint directory (default: .mtv-fleet/<job id>)')
    .option('--resume', 'continue the job checkpointed in --state', false)
    .option('--fresh', 'discard a checkpoint in --state and start the job again (without it, an existing checkpoint is refused)', false)
    .option('--workers <n>', 'wait for this many workers before starting', '1')
    .option('--heartbeat-ms <n>', 'ping period', '5000')
    .option('--heartbeat-misses <n>', 'unanswered pings before a worker is dropped and its shards reassigned', '3')
    .option('--checkpoint-ms <n>', 'least time between extract checkpoints', '1000')
    .option('--json <file>', 'also write the result summary as JSON')
    .option('--no-progress', 'no progress output')
    .option('--quiet', 'only errors and the final table', false)
    .option('--keep-serving', 'keep serving after the job (workers stay connected)', false)
    .option('--lease-initial-ms <n>', 'shard lease deadline before any shard has been timed', String(LEASE_DEFAULTS.initialMs))
    .option('--lease-floor-ms <n>', 'least shard lease deadline', String(LEASE_DEFAULTS.floorMs))
    .option('--lease-factor <x>', 'lease deadline = max(floor, factor x p95 of completed shard times); an overdue shard is re-executed on another worker', String(LEASE_DEFAULTS.factor))
    .option('--dashboard', 'serve the live dashboard at http://<host>:<port>/ (the default; beyond loopback it needs the token)', true)
    .option('--no-dashboard', 'do not serve the dashboard (/metrics is served either way)')
    .option('--verify <F>', 'fraction of shards (0..1, chosen by the seed) re-executed on a different worker and required to be bit-identical; a mismatch quarantines the worker', '0');
  addSpecOptions(c);
  return c.exitOverride();
}

export function resultJson(r: PipelineResult): Record<string, unknown> {
  return {
    jobId: r.spec.jobId, artifact: r.artifact, rounds: r.sums.count, shotsCompressed: r.spec.extract.rounds * shotsPerRound(r.spec.data.format, r.spec.extract.shots),
    heads: r.located ? Array.from(r.located.heads) : null, selectionLoss: r.located?.selectionLoss ?? null,
    summaries: r.summaries, sweep: r.sweep, bestIcl: r.bestIcl, timings: r.timings, resumedAt: r.resumedAt,
  };
}

export async function runCoordinatorCli(argv: readonly string[]): Promise<number> {
  const program = coordinatorProgram();
  const handled = parseCommand(program, argv);
  if (handled !== null) return handled;
  const f = program.opts<ServeFlags>();
  const token = f.token ?? process.env.MTV_TOKEN;
  const logger = commandLogger(f.quiet);
  const provisionalId = f.jobId ?? 'job';
  const stateDir = resolve(f.state ?? `.mtv-fleet/${provisionalId}`);
  const spec = await specFromFlags(f, stateDir);
  if (f.resume && f.fresh) throw new Error('give one of --resume (continue the checkpoint) or --fresh (discard it), not both');
  // Outputs never overwrite inputs, and are proven writable before any work (issue 11 item 4).
  await checkOutputs([{ flag: '--out', path: spec.out }, { flag: '--json', path: f.json }], [
    { flag: '--data', path: spec.data.file }, { flag: '--root', path: spec.data.root, dir: true },
    { flag: '--eval-data', path: spec.evalData?.file }, { flag: '--root', path: spec.evalData?.root, dir: true },
    { flag: '--locate-data', path: spec.locateData?.file },
    { flag: '--model', path: f.model, dir: true }, { flag: '--job', path: f.job },
    { flag: '--state (its checkpoint)', path: resolve(stateDir, 'job-state.msgpack') },
  ]);
  const positive = (name: string, v: string): number => {
    const n = Number(v);
    if (!(Number.isFinite(n) && n > 0)) throw new Error(`--${name} must be a positive number, got '${v}'`);
    return n;
  };
  const lease = { initialMs: positive('lease-initial-ms', f.leaseInitialMs), floorMs: positive('lease-floor-ms', f.leaseFloorMs), factor: positive('lease-factor', f.leaseFactor) };
  // `--workers 0` would start a job no worker is waited for.
  if (!/^\d+$/.test(f.workers.trim()) || Number(f.workers) < 1) throw new Error(`--workers must be a positive integer, got '${f.workers}'`);
  const verify = Number(f.verify);
  if (!(verify >= 0 && verify <= 1)) throw new Error(`--verify must be a fraction between 0 and 1, got '${f.verify}'`);
  if (verify > 0 && !(Number(f.workers) >= 2)) {
    throw new Error(`--verify ${f.verify} re-executes shards on a different worker: it needs --workers 2 or more (3 or more to tell which of two differing workers is wrong)`);
  }
  const coordinator = new FleetCoordinator({
    host: f.host, port: Number(f.port), ...(token ? { token } : {}),
    heartbeatMs: Number(f.heartbeatMs), heartbeatMisses: Number(f.heartbeatMisses), logger, lease, verify, dashboard: f.dashboard,
  });
  const address = await coordinator.start();
  const stop = (signal: string): void => {
    logger.warn(`coordinator: ${signal}: closing (the job continues with --resume)`);
    // The shell's convention: 128 + the signal's number (SIGINT 2 -> 130, SIGTERM 15 -> 143).
    void coordinator.close({ reason: `coordinator stopped (${signal})`, reconnect: true }).finally(() => process.exit(signal === 'SIGTERM' ? 143 : 130));
  };
  process.once('SIGINT', () => stop('SIGINT'));
  process.once('SIGTERM', () => stop('SIGTERM'));
  // Machine-readable line for launchers and tests (the logger line may be silenced by --quiet);
  // after the signal handlers, so a launcher that signals on it gets 130 / 143.
  process.stderr.write(`MTV_COORDINATOR_LISTENING ws://${address.host}:${address.port}\n`);
  const dashboardUrl = coordinator.dashboardUrl();
  if (dashboardUrl) {
    process.stderr.write(`MTV_DASHBOARD ${dashboardUrl}\n`);
    logger.info(`coordinator: dashboard at ${dashboardUrl}${isLoopbackHost(address.host) ? '' : ' (open it once with ?token=<the token>; /metrics takes Authorization: Bearer <the token>)'}, metrics at ${dashboardUrl}metrics`);
  }
  const view = f.progress && !f.quiet ? new ProgressView(process.stderr) : null;
  let result: PipelineResult;
  try {
    result = await coordinator.run({
      spec, stateDir, resume: f.resume, fresh: f.fresh, checkpointMs: Number(f.checkpointMs), minWorkers: Number(f.workers),
      ...(view ? { emit: view.onEvent } : {}),
    });
  } catch (e) {
    view?.stop();
    await coordinator.close({ reason: `${JOB_FAILED} ${(e as Error).message}`, reconnect: false });
    throw e;
  }
  view?.stop();
  process.stdout.write(`\n${formatResultTable(result)}\n\nMTV artifact: ${result.artifact}\n`);
  if (f.json) await writeFileAtomic(f.json, `${JSON.stringify(resultJson(result), null, 2)}\n`);
  if (!f.keepServing) await coordinator.close({ reason: 'job done', reconnect: false });
  return 0;
}

