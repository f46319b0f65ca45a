// Hands shards to connected workers and gathers their results, surviving workers that come and go.
//
// Rules (issue 6, fault tolerance):
//   - a shard is pending, in flight on one worker, or done; a worker lost (closed, heartbeat timeout,
//     superseded) puts its in-flight shards back at the front of the queue;
//   - results are keyed by (jobId, shardId): the first usable one is taken, any later one (a late
//     duplicate from a worker we gave up on, or a result from before a coordinator restart) is ignored;
//   - a result that `accept` refuses (non-finite numbers, wrong round range) and a retryable
//     shard-error put the shard back, up to `maxAttempts`; a non-retryable error fails the batch.
// Shards are dispatched in index order, and at most `window` past the oldest unfinished one, so a
// caller that merges in order buffers at most `window` results (memory independent of the shard count).
import type { CoordinatorServer, PeerInfo } from '../net/index.js';
import type { Logger } from '../net/logger.js';
import { encodeMessage, type Progress, type Result, type Shard, type ShardError, type ShardKind, type ShardResult } from '../protocol/index.js';

export interface ShardTask {
  readonly jobId: string;
  readonly shardId: number;
  readonly kind: ShardKind;
  /** Builds the wire shard on dispatch (examples and image bytes are read only then). */
  build(): Promise<Shard> | Shard;
  /** Takes the result; throws when it is unusable, and the shard is retried. */
  accept(result: ShardResult): Promise<void> | void;
}

export interface BatchProgress {
  readonly done: number;
  readonly total: number;
  readonly inFlight: number;
  /** Rounds/items finished inside in-flight shards, as the workers last reported. */
  readonly partial: number;
}

export interface BatchOptions {
  /** Largest distance, in shards, between the oldest unfinished shard and any dispatched one; default: unlimited. */
  readonly window?: number;
  /** Attempts per shard before the batch fails; default 5. */
  readonly maxAttempts?: number;
  readonly onProgress?: (p: BatchProgress) => void;
}

export class BatchError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BatchError';
  }
}

type TaskState =
  | { kind: 'pending' }
  | { kind: 'inflight'; peerId: string; since: number }
  | { kind: 'done' };

interface Entry {
  readonly index: number;
  readonly task: ShardTask;
  state: TaskState;
  attempts: number;
  partial: number;
}

interface Batch {
  readonly entries: Entry[];
  readonly byKey: Map<string, Entry>;
  readonly opts: BatchOptions;
  readonly resolve: () => void;
  readonly reject: (e: Error) => void;
  done: number;
  /** Lowest index not yet done. */
  low: number;
  failed: boolean;
}

export interface PeerStats {
  shards: number;
  busyMs: number;
}

export interface SchedulerOptions {
  /** Only workers holding this model get shards. */
  readonly modelHash: string;
  readonly logger: Logger;
  /**
   * Shards sent to a worker beyond its thread count, queued there so a thread never idles while its
   * next shard crosses the network; default 1.
   */
  readonly prefetch?: number;
}

const keyOf = (jobId: string, shardId: number): string => `${jobId}\u0000${shardId}`;

export class Scheduler {
  readonly #server: CoordinatorServer;
  readonly #log: Logger;
  readonly #modelHash: string;
  readonly #prefetch: number;
  /** In-flight shard keys per connected eligible worker. */
  readonly #running = new Map<string, Set<string>>();
  readonly #banned = new Set<string>();
  readonly #warned = new Set<string>();
  readonly stats = new Map<string, PeerStats>();
  #batch: Batch | null = null;
  #dispatching = false;
  #again = false;

  constructor(server: CoordinatorServer, opts: SchedulerOptions) {
    this.#server = server;
    this.#log = opts.logger;
    this.#modelHash = opts.modelHash;
    this.#prefetch = opts.prefetch ?? 1;
    server.on('peer', (p) => this.#onPeer(p));
    server.on('peer-lost', (id, info) => this.#onPeerLost(id, `${info.reason} (${info.code}: ${info.detail})`));
    server.on('result', (m, p) => void this.#onResult(m, p));
    server.on('shard-error', (m, p) => this.#onShardError(m, p));
    server.on('progress', (m) => this.#onProgress(m));
    for (const p of server.peers()) this.#onPeer(p);
  }

  /** Workers currently eligible for shards. */
  get workers(): string[] {
    return [...this.#running.keys()];
  }

  /** Total threads of the eligible workers (at least 1): how many ways to split a step's work. */
  get capacity(): number {
    let n = 0;
    for (const id of this.#running.keys()) n += this.#threads(id);
    return Math.max(1, n);
  }

  /** Resolves once at least `n` eligible workers are connected. */
  async waitForWorkers(n = 1, signal?: AbortSignal): Promise<void> {
    while (this.#running.size < n) {
      if (signal?.aborted) throw new BatchError('waitForWorkers: aborted');
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** Runs every task to an accepted result; rejects when one cannot be completed. One batch at a time. */
  run(tasks: readonly ShardTask[], opts: BatchOptions = {}): Promise<void> {
    if (this.#batch) return Promise.reject(new BatchError('Scheduler.run: a batch is already running'));
    if (tasks.length === 0) return Promise.resolve();
    const entries = tasks.map((task, index): Entry => ({ index, task, state: { kind: 'pending' }, attempts: 0, partial: 0 }));
    const byKey = new Map<string, Entry>();
    for (const e of entries) {
      const k = keyOf(e.task.jobId, e.task.shardId);
      if (byKey.has(k)) return Promise.reject(new BatchError(`Scheduler.run: shard ${e.task.shardId} of job ${e.task.jobId} appears twice`));
      byKey.set(k, e);
    }
    return new Promise<void>((resolve, reject) => {
      this.#batch = { entries, byKey, opts, resolve, reject, done: 0, low: 0, failed: false };
      if (this.#running.size === 0) this.#log.info(`scheduler: waiting for a worker with model ${this.#modelHash}`);
      this.#dispatch();
    }).finally(() => {
      this.#batch = null;
    });
  }

  #threads(peerId: string): number {
    const p = this.#server.peers().find((x) => x.id === peerId);
    return Math.max(1, p?.capabilities.threads ?? 1);
  }

  /** Concurrent shards a worker is given: its threads plus the prefetch. */
  #slots(peerId: string): number {
    return this.#threads(peerId) + this.#prefetch;
  }

  #onPeer(p: PeerInfo): void {
    if (p.capabilities.modelHash !== this.#modelHash) {
      this.#log.warn(`scheduler: worker '${p.id}' holds model ${p.capabilities.modelHash}, the job needs ${this.#modelHash}: no shards for it`);
      return;
    }
    this.#banned.delete(p.id);
    this.#running.set(p.id, new Set());
    if (!this.stats.has(p.id)) this.stats.set(p.id, { shards: 0, busyMs: 0 });
    this.#dispatch();
  }

  #onPeerLost(peerId: string, why: string): void {
    const running = this.#running.get(peerId);
    this.#running.delete(peerId);
    const b = this.#batch;
    if (!running || !b) return;
    const back = [...running].map((k) => b.byKey.get(k)).filter((e): e is Entry => !!e && e.state.kind === 'inflight' && e.state.peerId === peerId);
    for (const e of back) {
      e.state = { kind: 'pending' };
      e.partial = 0;
    }
    if (back.length > 0) this.#log.warn(`scheduler: worker '${peerId}' lost (${why}); reassigning shards ${back.map((e) => e.task.shardId).join(', ')} of job ${back[0]!.task.jobId}`);
    this.#dispatch();
  }

  #free(peerId: string, key: string): void {
    this.#running.get(peerId)?.delete(key);
  }

  /** Fills every free slot of every eligible worker, in shard order. Re-entrant calls coalesce. */
  #dispatch(): void {
    if (this.#dispatching) {
      this.#again = true;
      return;
    }
    this.#dispatching = true;
    try {
      do {
        this.#again = false;
        this.#dispatchOnce();
      } while (this.#again);
    } finally {
      this.#dispatching = false;
    }
  }

  #dispatchOnce(): void {
    const b = this.#batch;
    if (!b || b.failed) return;
    const limit = b.opts.window === undefined ? Infinity : b.low + b.opts.window;
    for (;;) {
      // Least-loaded worker first, so shards spread over the fleet.
      const peer = [...this.#running.entries()]
        .filter(([id, set]) => !this.#banned.has(id) && set.size < this.#slots(id))
        .sort((x, y) => x[1].size / this.#slots(x[0]) - y[1].size / this.#slots(y[0]))[0];
      if (!peer) return;
      const next = b.entries.find((e) => e.state.kind === 'pending' && e.index < limit);
      if (!next) return;
      const [peerId, set] = peer;
      const key = keyOf(next.task.jobId, next.task.shardId);
      next.state = { kind: 'inflight', peerId, since: Date.now() };
      next.attempts++;
      set.add(key);
      void this.#send(b, next, peerId, key);
    }
  }

  async #send(b: Batch, e: Entry, peerId: string, key: string): Promise<void> {
    const stillOurs = (): boolean => e.state.kind === 'inflight' && e.state.peerId === peerId;
    let shard: Shard;
    try {
      shard = await e.task.build();
      // Encoding checks the schema: a shard that does not validate will not on a retry either.
      encodeMessage({ type: 'assign', shard });
    } catch (err) {
      this.#free(peerId, key);
      if (stillOurs()) e.state = { kind: 'pending' };
      return this.#fail(b, `shard ${e.task.shardId} of job ${e.task.jobId} could not be built: ${(err as Error).message}`);
    }
    if (!stillOurs()) return; // lost or finished meanwhile
    try {
      await this.#server.send(peerId, { type: 'assign', shard });
    } catch (err) {
      // The socket is going away (its peer-lost may not have fired yet): treat the worker as lost now,
      // so its shards go back to the queue and nothing more is sent to it.
      this.#onPeerLost(peerId, `send failed: ${(err as Error).message}`);
    }
  }

  #fail(b: Batch, message: string): void {
    if (b.failed) return;
    b.failed = true;
    this.#log.warn(`scheduler: ${message}`);
    for (const e of b.entries) {
      if (e.state.kind === 'inflight') {
        this.#server.send(e.state.peerId, { type: 'cancel', jobId: e.task.jobId, shardId: e.task.shardId, reason: 'batch failed' }).catch(() => {});
        this.#free(e.state.peerId, keyOf(e.task.jobId, e.task.shardId));
      }
    }
    b.reject(new BatchError(message));
  }

  #retry(b: Batch, e: Entry, why: string): void {
    const max = b.opts.maxAttempts ?? 5;
    if (e.attempts >= max) return this.#fail(b, `shard ${e.task.shardId} of job ${e.task.jobId} failed ${e.attempts} times; last: ${why}`);
    this.#log.warn(`scheduler: retrying shard ${e.task.shardId} of job ${e.task.jobId} (attempt ${e.attempts} of ${max} failed: ${why})`);
    e.state = { kind: 'pending' };
    e.partial = 0;
    this.#dispatch();
  }

  async #onResult(m: Result, p: PeerInfo): Promise<void> {
    const { jobId, shardId } = m.result;
    const key = keyOf(jobId, shardId);
    const b = this.#batch;
    const e = b?.byKey.get(key);
    if (!b || !e || b.failed) {
      this.#log.info(`scheduler: ignoring a result for shard ${shardId} of job ${jobId} from '${p.id}': not part of the running batch`);
      this.#free(p.id, key);
      return this.#dispatch();
    }
    if (e.state.kind === 'done') {
      this.#log.info(`scheduler: ignoring a duplicate result for shard ${shardId} of job ${jobId} from '${p.id}'`);
      this.#free(p.id, key);
      return this.#dispatch();
    }
    const prev = e.state;
    if (prev.kind === 'inflight' && prev.peerId !== p.id) {
      // Another worker holds it (we reassigned after losing p, which came back): first result wins.
      this.#server.send(prev.peerId, { type: 'cancel', jobId, shardId, reason: `result already received from '${p.id}'` }).catch(() => {});
      this.#free(prev.peerId, key);
    }
    this.#free(p.id, key);
    e.state = { kind: 'done' };
    try {
      await e.task.accept(m.result);
    } catch (err) {
      return this.#retry(b, e, `result from '${p.id}' refused: ${(err as Error).message}`);
    }
    const st = this.stats.get(p.id);
    if (st) {
      st.shards++;
      st.busyMs += m.result.elapsedMs;
    }
    b.done++;
    while (b.low < b.entries.length && b.entries[b.low]!.state.kind === 'done') b.low++;
    this.#report(b);
    if (b.done === b.entries.length) return b.resolve();
    this.#dispatch();
  }

  #onShardError(m: ShardError, p: PeerInfo): void {
    const key = keyOf(m.jobId, m.shardId);
    this.#free(p.id, key);
    const b = this.#batch;
    const e = b?.byKey.get(key);
    if (!b || !e || e.state.kind !== 'inflight' || e.state.peerId !== p.id) return this.#dispatch();
    const why = `'${p.id}' reported ${m.code}: ${m.message}`;
    if (m.code === 'model-mismatch') {
      this.#banned.add(p.id);
      e.attempts--;
      this.#log.warn(`scheduler: no more shards for worker '${p.id}': ${m.message}`);
      e.state = { kind: 'pending' };
      return this.#dispatch();
    }
    if (m.code === 'cancelled') {
      e.attempts--;
      e.state = { kind: 'pending' };
      return this.#dispatch();
    }
    if (!m.retryable) return this.#fail(b, `shard ${m.shardId} of job ${m.jobId} failed: ${why}`);
    this.#retry(b, e, why);
  }

  #onProgress(m: Progress): void {
    const b = this.#batch;
    const e = b?.byKey.get(keyOf(m.jobId, m.shardId));
    if (!b || !e || e.state.kind !== 'inflight') return;
    e.partial = m.done;
    this.#report(b);
  }

  #report(b: Batch): void {
    let inFlight = 0;
    let partial = 0;
    for (const e of b.entries) {
      if (e.state.kind === 'inflight') {
        inFlight++;
        partial += e.partial;
      }
    }
    b.opts.onProgress?.({ done: b.done, total: b.entries.length, inFlight, partial });
  }
}
