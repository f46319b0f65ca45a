// The worker command: flags, the thread pool, the connection; exits when the coordinator is done.
import { Command } from 'commander';
import { JOB_FAILED, commandLogger, parseCommand } from '@mtv/coordinator';
import { ThreadPool } from './pool.js';
import { FleetWorker, defaultWorkerId } from './worker.js';

interface Flags {
  connect: string;
  token?: string;
  model: string;
  threads: string;
  id?: string;
  name?: string;
  maxBatch: string;
  maxImagePixels?: string;
  quiet: boolean;
}

export function workerProgram(): Command {
  return new Command('mtv-worker')
    .description('MTV fleet worker: runs extract / rollouts / eval shards for a coordinator on this machine\'s device')
    .requiredOption('--connect <url>', 'coordinator address, ws://host:port or wss://host[/path] behind a TLS proxy')
    .option('--token <secret>', 'the coordinator\'s token (default: $MTV_TOKEN)')
    .requiredOption('--model <dir>', 'model checkpoint directory (must hash to the job\'s model)')
    .option('--threads <n>', 'worker threads, each with its own device and copy of the model', '1')
    .option('--id <id>', 'worker id, unique in the fleet (default: host-pid)')
    .option('--name <name>', 'display name')
    .option('--max-batch <n>', 'largest rollout batch per forward', '32')
    .option('--max-image-pixels <n>', 'refuse images over n pixels from their header, before decoding (default: $MTV_MAX_IMAGE_PIXELS, else the processor\'s need capped at Pillow\'s 89478485)')
    .option('--quiet', 'warnings only', false)
    .exitOverride();
}

export async function runWorkerCli(argv: readonly string[]): Promise<number> {
  const program = workerProgram();
  const handled = parseCommand(program, argv);
  if (handled !== null) return handled;
  const f = program.opts<Flags>();
  const threads = Number(f.threads);
  const maxBatch = Number(f.maxBatch);
  if (f.maxImagePixels !== undefined) {
    if (!/^\d+$/.test(f.maxImagePixels.trim()) || Number(f.maxImagePixels) < 1) throw new Error(`--max-image-pixels must be a positive integer, got '${f.maxImagePixels}'`);
    process.env.MTV_MAX_IMAGE_PIXELS = String(Number(f.maxImagePixels)); // copied into each thread's environment at its start
  }
  const log = commandLogger(f.quiet);
  const id = f.id ?? defaultWorkerId();
  log.info(`worker ${id}: loading ${f.model} on ${threads} thread(s)`);
  const { pool, info } = await ThreadPool.start(f.model, threads, { maxBatch });
  log.info(`worker ${id}: model ${info.modelHash.slice(0, 16)}, heads [${info.headShape.join(', ')}], adapter ${info.adapter.description || info.adapter.device} (${info.backend})`);
  const worker = new FleetWorker({
    url: f.connect, token: f.token ?? process.env.MTV_TOKEN ?? '', workerId: id, ...(f.name ? { name: f.name } : {}),
    executor: pool, info, threads, maxBatch, logger: log,
  }).start();
  // The shell's convention: 128 + the signal's number (SIGINT 2 -> 130, SIGTERM 15 -> 143), whichever
  // of the close and the end of the run below finishes first.
  let signalCode: number | null = null;
  const onSignal = (sig: string): void => {
    log.warn(`worker ${id}: ${sig}: closing`);
    signalCode = sig === 'SIGTERM' ? 143 : 130;
    void worker.close(`worker stopped (${sig})`).finally(() => process.exit(signalCode!));
  };
  process.once('SIGINT', () => onSignal('SIGINT'));
  process.once('SIGTERM', () => onSignal('SIGTERM'));
  // After the handlers: a launcher that signals on this line gets 130 / 143, not a bare kill.
  process.stderr.write(`MTV_WORKER_READY ${id}\n`);
  const { reason } = await worker.stopped();
  await pool.close();
  log.info(`worker ${id}: stopped after ${worker.shardsDone} shard(s): ${reason}`);
  if (signalCode !== null) return signalCode;
  // Non-zero when refused (bad token, version, model mismatch, quarantine) or when the coordinator
  // aborted the job (shutdown reason 'job failed: ...'): only a finished job exits 0.
  const failed = /^rejected|closed by the coordinator \(40/.test(reason) || reason.startsWith(`coordinator shut down: ${JOB_FAILED}`);
  if (failed) log.warn(`worker ${id}: exiting with status 1: ${reason}`);
  return failed ? 1 : 0;
}
