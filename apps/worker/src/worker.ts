// The worker process: a connection to the coordinator (reconnecting with backoff) and a pool of
// threads that run the shards it is assigned. Results that could not be sent (the connection dropped)
// wait in an outbox and go out after the next welcome; the coordinator keys them by shard id, so a
// result it no longer needs is ignored there.
import { hostname } from 'node:os';
import {
  WorkerConnection, consoleLogger,
  type BackoffOptions, type Capabilities, type Logger, type Shard, type WorkerAppMessage,
} from '@mtv/coordinator';
import type { ProgressFn, RunOutcome, RunnerInfo } from './runner.js';

/** What executes shards: the thread pool in production, a ShardRunner in-process in tests. */
export interface ShardExecutor {
  run(shard: Shard, onProgress: ProgressFn): Promise<RunOutcome>;
  dropQueued(pred: (s: Shard) => boolean, reason: string): number;
  close(): Promise<void>;
}

export interface FleetWorkerOptions {
  readonly url: string;
  readonly token?: string;
  readonly workerId?: string;
  readonly name?: string;
  readonly executor: ShardExecutor;
  readonly info: RunnerInfo;
  /** Concurrent shards (the number of threads). */
  readonly threads: number;
  readonly maxBatch?: number;
  readonly backoff?: Partial<BackoffOptions>;
  readonly logger?: Logger;
  /** Least time between progress messages per shard; default 250 ms. */
  readonly progressMs?: number;
  /** Unsent results kept for the next connection; default 64. */
  readonly outboxSize?: number;
}

export const defaultWorkerId = (): string => `${hostname()}-${process.pid}`.replace(/[^A-Za-z0-9._:-]/g, '-').slice(0, 64);

const keyOf = (s: { jobId: string; shardId: number }): string => `${s.jobId}\u0000${s.shardId}`;

export class FleetWorker {
  readonly conn: WorkerConnection;
  readonly #opts: FleetWorkerOptions;
  readonly #log: Logger;
  /** Shards running or queued here, and whether the coordinator cancelled them. */
  readonly #active = new Map<string, { shard: Shard; cancelled: boolean }>();
  readonly #outbox: { msg: WorkerAppMessage; session: string | null }[] = [];
  /** The coordinator session of the last welcome: leases (and so results) belong to one session. */
  #session: string | null = null;
  readonly #stopped: Promise<{ reason: string }>;
  shardsDone = 0;

  constructor(opts: FleetWorkerOptions) {
    this.#opts = opts;
    this.#log = opts.logger ?? consoleLogger;
    const capabilities: Capabilities = {
      adapter: opts.info.adapter, backend: opts.info.backend, threads: opts.threads, modelHash: opts.info.modelHash,
      maxBatch: opts.maxBatch ?? 32, kinds: ['extract', 'rollouts', 'eval'],
    };
    this.conn = new WorkerConnection({
      url: opts.url, token: opts.token ?? '', workerId: opts.workerId ?? defaultWorkerId(), name: opts.name ?? hostname(), capabilities,
      ...(opts.backoff ? { backoff: opts.backoff } : {}), logger: this.#log,
    });
    this.#stopped = new Promise((resolve) => this.conn.once('stopped', resolve));
    this.conn.on('assign', (m) => void this.#onAssign(m.shard));
    this.conn.on('cancel', (m) => this.#onCancel(m.jobId, m.shardId, m.reason));
    this.conn.on('welcome', (m) => {
      this.#session = m.sessionId;
      this.#flush();
    });
  }

  start(): this {
    this.conn.start();
    return this;
  }

  /** Resolves when the connection stops for good (coordinator shutdown, fatal reject, close()). */
  stopped(): Promise<{ reason: string }> {
    return this.#stopped;
  }

  async close(reason = 'worker closing'): Promise<void> {
    await this.conn.close(reason);
    await this.#opts.executor.close();
  }

  #send(msg: WorkerAppMessage, keep: boolean, session: string | null = this.#session): void {
    if (msg.type !== 'progress' && session !== null && this.#session !== null && session !== this.#session) {
      // A restarted coordinator accepts results only for shards it assigned itself; it assigns this one again.
      const id = msg.type === 'result' ? msg.result : msg;
      this.#log.info(`worker: dropping the ${msg.type} for shard ${id.shardId} of ${id.jobId}: it was assigned by coordinator session ${session}, now ${this.#session}`);
      return;
    }
    this.conn.send(msg).catch((e: Error) => {
      if (!keep) return;
      this.#outbox.push({ msg, session });
      const max = this.#opts.outboxSize ?? 64;
      if (this.#outbox.length > max) this.#outbox.splice(0, this.#outbox.length - max);
      this.#log.info(`worker: holding a ${msg.type} until the coordinator is back (${e.message})`);
    });
  }

  #flush(): void {
    const pending = this.#outbox.splice(0);
    if (pending.length > 0) this.#log.info(`worker: sending ${pending.length} held message(s)`);
    for (const m of pending) this.#send(m.msg, true, m.session);
  }

  async #onAssign(shard: Shard): Promise<void> {
    const key = keyOf(shard);
    const cur = this.#active.get(key);
    if (cur && !cur.cancelled) {
      this.#log.info(`worker: ${shard.kind} shard ${shard.shardId} of ${shard.jobId} is already running here; its result will answer this assignment`);
      return;
    }
    const entry = { shard, cancelled: false };
    const session = this.#session;
    this.#active.set(key, entry);
    const range = shard.kind === 'extract' ? ` rounds [${shard.r0}, ${shard.r1})` : shard.kind === 'rollouts' ? ` step ${shard.step}, ${shard.queries.length} queries x ${shard.nMasks} masks` : ` ${shard.items.length} ${shard.mode} items`;
    this.#log.info(`worker: shard started: ${shard.kind} ${shard.shardId} of ${shard.jobId}${range}`);
    const every = this.#opts.progressMs ?? 250;
    let last = 0;
    const onProgress: ProgressFn = (done, total) => {
      const now = Date.now();
      if (done < total && now - last < every) return;
      last = now;
      if (!entry.cancelled) this.#send({ type: 'progress', jobId: shard.jobId, shardId: shard.shardId, done, total }, false);
    };
    let outcome: RunOutcome;
    try {
      outcome = await this.#opts.executor.run(shard, onProgress);
    } finally {
      if (this.#active.get(key) === entry) this.#active.delete(key);
    }
    if (entry.cancelled) return;
    if (outcome.ok) {
      this.shardsDone++;
      this.#log.info(`worker: shard done: ${shard.kind} ${shard.shardId} of ${shard.jobId} in ${(outcome.result.elapsedMs / 1000).toFixed(2)} s`);
      this.#send({ type: 'result', result: outcome.result }, true, session);
    } else {
      this.#log.warn(`worker: shard failed (${outcome.code}): ${outcome.message}`);
      this.#send({ type: 'shard-error', jobId: shard.jobId, shardId: shard.shardId, code: outcome.code, message: outcome.message.slice(0, 60_000), retryable: outcome.retryable }, true, session);
    }
  }

  #onCancel(jobId: string, shardId: number | null, reason: string): void {
    const match = (s: { jobId: string; shardId: number }): boolean => s.jobId === jobId && (shardId === null || s.shardId === shardId);
    for (const e of this.#active.values()) if (match(e.shard)) e.cancelled = true;
    const dropped = this.#opts.executor.dropQueued(match, `cancelled: ${reason}`);
    this.#log.info(`worker: cancel ${shardId === null ? 'all shards' : `shard ${shardId}`} of ${jobId} (${reason}); ${dropped} queued dropped`);
    // Drop held results for cancelled shards too.
    for (let i = this.#outbox.length - 1; i >= 0; i--) {
      const m = this.#outbox[i]!.msg;
      const id = m.type === 'result' ? m.result : m.type === 'shard-error' || m.type === 'progress' ? m : null;
      if (id && match(id)) this.#outbox.splice(i, 1);
    }
  }
}
