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
import { createHash } from 'node:crypto';
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

interface Lease {
  readonly since: number;
  overdue: boolean;
}

interface Opinion {
  readonly digest: string;
  readonly result: ShardResult;
}

interface Entry {
  readonly index: number;
  readonly task: ShardTask;
  readonly key: string;
  readonly leaseGroup: string;
  /** Live leases: the workers this shard is assigned to now (more than one when re-executed). */
  readonly leases: Map<string, Lease>;
  done: boolean;
  /** Refused results and retryable errors so far. */
  failures: number;
  partial: number;
  /** Chosen for --verify: needs two bit-identical results from different workers. */
  readonly verify: boolean;
  /** Results received for a verified shard, by worker. */
  readonly opinions: Map<string, Opinion>;
  /** Workers whose result was taken (a verified shard: every worker that agreed). */
  acceptedFrom: string[];
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
  /** Leases of this worker that ran past their deadline (the shard was re-executed elsewhere). */
  overdue: number;
  /** Results it sent for shards it never held a lease on (refused). */
  unleased: number;
  /** Verified shards where its result disagreed with two agreeing workers. */
  mismatches: number;
}

/** Shard totals since the scheduler started. */
export interface ShardCounters {
  /** Assignments sent (re-executions and verifications included). */
  assigned: number;
  /** Shards whose result was accepted. */
  done: number;
  /** Shards put back in the queue because their worker was lost. */
  reassigned: number;
}

/** The running batch's shards now. */
export interface ShardGauges {
  readonly queued: number;
  readonly running: number;
  readonly done: number;
  readonly total: number;
}

/** Fleet-wide fault counters (also logged as they happen). */
export interface FaultCounters {
  /** Leases that ran past their deadline. */
  overdue: number;
  /** Shards re-executed on another worker because a lease was overdue. */
  reexecuted: number;
  /** Results refused because the sender never held that shard's lease. */
  unleased: number;
  /** Verified shards whose first two results differed. */
  verifyMismatches: number;
  /** Verified shards accepted (two bit-identical results). */
  verified: number;
  /** Workers quarantined (disconnected and refused). */
  quarantined: number;
}

/**
 * Shard leases: a lease's deadline is `max(floorMs, factor x p95)` of the durations (assign to
 * result, measured here) of the last completed shards of the same group (the task's job id without
 * a locate step suffix), or `initialMs` while none has completed. Deadlines are recomputed as
 * measurements arrive, so a shard taken before any measurement does not wait out `initialMs` once
 * others have been timed.
 */
export interface LeaseOptions {
  /** Deadline before any shard of the group has completed; default 300,000 ms. */
  readonly initialMs?: number;
  /** Least deadline; default 10,000 ms. */
  readonly floorMs?: number;
  /** Multiple of the p95 shard duration; default 3. */
  readonly factor?: number;
  /** How often leases are checked; default floorMs / 4, between 20 and 1000 ms. */
  readonly checkMs?: number;
}

/** --verify: re-execute a fraction of the shards on a different worker and require bit-identical results. */
export interface VerifyOptions {
  /** Fraction of shards verified, 0..1. */
  readonly fraction: number;
  /** Which shards: chosen by hash(seed, jobId, shardId) < fraction, so the choice is reproducible. */
  readonly seed: number | string;
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
  readonly lease?: LeaseOptions;
  readonly verify?: VerifyOptions;
}

export const LEASE_DEFAULTS = { initialMs: 300_000, floorMs: 10_000, factor: 3 } as const;

/** Whether shard (jobId, shardId) is verified at `fraction` under `seed`. */
export function verifiedShard(v: VerifyOptions, jobId: string, shardId: number): boolean {
  if (v.fraction <= 0) return false;
  if (v.fraction >= 1) return true;
  const h = createHash('sha256').update(`${String(v.seed)}\u0000${jobId}\u0000${shardId}`).digest();
  return h.readUInt32LE(0) / 2 ** 32 < v.fraction;
}

/** A digest of a result's content (every field but elapsedMs; typed arrays by their bytes). */
export function resultDigest(r: ShardResult): string {
  const h = createHash('sha256');
  const walk = (v: unknown): void => {
    if (ArrayBuffer.isView(v)) {
      h.update(`<${v.constructor.name}:${v.byteLength}>`);
      h.update(new Uint8Array(v.buffer, v.byteOffset, v.byteLength));
    } else if (Array.isArray(v)) {
      h.update(`[${v.length}`);
      for (const x of v) walk(x);
      h.update(']');
    } else if (v !== null && typeof v === 'object') {
      const o = v as Record<string, unknown>;
      h.update('{');
      for (const k of Object.keys(o).sort()) {
        if (k === 'elapsedMs' || o[k] === undefined) continue;
        h.update(JSON.stringify(k));
        walk(o[k]);
      }
      h.update('}');
    } else {
      h.update(typeof v === 'number' && Object.is(v, -0) ? '-0' : JSON.stringify(v) ?? 'undefined');
    }
  };
  walk(r);
  return h.digest('hex');
}

/** Locate steps are separate job ids (`<job>.train.<step>.k<parts>`); they share one lease group. */
const leaseGroupOf = (t: ShardTask): string => `${t.kind}:${t.jobId.replace(/\.\d+\.k\d+$/, '')}`;

const p95 = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil(0.95 * s.length) - 1)]!;
};

const keyOf = (jobId: string, shardId: number): string => `${jobId}\u0000${shardId}`;

export class Scheduler {
  readonly #server: CoordinatorServer;
  readonly #log: Logger;
  readonly #modelHash: string;
  readonly #prefetch: number;
  readonly #lease: Required<Omit<LeaseOptions, 'checkMs'>> & { checkMs: number };
  readonly #verify: VerifyOptions | null;
  /** In-flight shard keys per connected eligible worker. */
  readonly #running = new Map<string, Set<string>>();
  readonly #banned = new Set<string>();
  /**
   * Workers with an overdue lease that have not answered since. They get no new shards until they
   * answer (a result, an error, progress), or until a probation of the lease deadline x 2^(strikes-1)
   * has passed with no overdue lease of theirs still live: a worker that recovers comes back, and a
   * hung one costs one deadline per probation, at growing intervals.
   */
  readonly #slow = new Map<string, { strikes: number; until: number }>();
  readonly #quarantined = new Map<string, string>();
  /** Every worker that was ever given each shard (key): a result is accepted only from one of them. */
  readonly #leased = new Map<string, Set<string>>();
  /** Completed shard durations (ms, assign to result) per lease group, the last 64. */
  readonly #durations = new Map<string, number[]>();
  readonly stats = new Map<string, PeerStats>();
  readonly faults: FaultCounters = { overdue: 0, reexecuted: 0, unleased: 0, verifyMismatches: 0, verified: 0, quarantined: 0 };
  /** Totals over the scheduler's life, for /metrics and the dashboard. */
  readonly counters: ShardCounters = { assigned: 0, done: 0, reassigned: 0 };
  #batch: Batch | null = null;
  #timer: NodeJS.Timeout | null = null;
  #dispatching = false;
  #again = false;

  constructor(server: CoordinatorServer, opts: SchedulerOptions) {
    this.#server = server;
    this.#log = opts.logger;
    this.#modelHash = opts.modelHash;
    this.#prefetch = opts.prefetch ?? 1;
    const l: Record<string, number> = { ...LEASE_DEFAULTS };
    for (const [k, v] of Object.entries(opts.lease ?? {})) if (v !== undefined) l[k] = v;
    for (const [k, v] of Object.entries(l)) {
      if (!(typeof v === 'number' && Number.isFinite(v) && v > 0)) throw new Error(`Scheduler: lease.${k} must be a positive number, got ${String(v)}`);
    }
    this.#lease = { initialMs: l.initialMs!, floorMs: l.floorMs!, factor: l.factor!, checkMs: l.checkMs ?? Math.min(1000, Math.max(20, l.floorMs! / 4)) };
    const v = opts.verify;
    if (v && !(v.fraction >= 0 && v.fraction <= 1)) throw new Error(`Scheduler: verify.fraction must be in [0, 1], got ${v.fraction}`);
    this.#verify = v && v.fraction > 0 ? v : null;
    server.on('peer', (p) => this.#onPeer(p));
    server.on('peer-lost', (id, info) => this.#onPeerLost(id, `${info.reason} (${info.code}: ${info.detail})`));
    server.on('result', (m, p) => void this.#onResult(m, p));
    server.on('shard-error', (m, p) => this.#onShardError(m, p));
    server.on('progress', (m, p) => this.#onProgress(m, p));
    for (const p of server.peers()) this.#onPeer(p);
  }

  /** Workers currently eligible for shards. */
  get workers(): string[] {
    return [...this.#running.keys()];
  }

  /** Workers quarantined after a --verify mismatch, with the reason. */
  get quarantined(): ReadonlyMap<string, string> {
    return this.#quarantined;
  }

  /** Total threads of the eligible workers (at least 1): how many ways to split a step's work. */
  get capacity(): number {
    let n = 0;
    for (const id of this.#running.keys()) n += this.#threads(id);
    return Math.max(1, n);
  }

  /** One line on the faults seen, or null when there were none. */
  faultSummary(): string | null {
    const f = this.faults;
    if (Object.values(f).every((x) => x === 0)) return null;
    const per = [...this.stats.entries()]
      .filter(([, s]) => s.overdue + s.unleased + s.mismatches > 0)
      .map(([id, s]) => `'${id}': ${s.overdue} overdue, ${s.unleased} unleased, ${s.mismatches} mismatches`);
    return `scheduler: faults: ${f.overdue} overdue leases (${f.reexecuted} shards re-executed), ${f.unleased} unleased results refused, ${f.verified} shards verified, ${f.verifyMismatches} verify mismatches, ${f.quarantined} workers quarantined${per.length ? `; ${per.join('; ')}` : ''}`;
  }

  /** The running batch's shards: waiting for a worker, leased, done (all 0 between batches). */
  shardGauges(): ShardGauges {
    const b = this.#batch;
    if (!b) return { queued: 0, running: 0, done: 0, total: 0 };
    let running = 0;
    for (const e of b.entries) if (!e.done && e.leases.size > 0) running++;
    return { queued: b.entries.length - b.done - running, running, done: b.done, total: b.entries.length };
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
    const entries = tasks.map((task, index): Entry => ({
      index, task, key: keyOf(task.jobId, task.shardId), leaseGroup: leaseGroupOf(task), leases: new Map(), done: false, failures: 0, partial: 0,
      verify: this.#verify ? verifiedShard(this.#verify, task.jobId, task.shardId) : false, opinions: new Map(), acceptedFrom: [],
    }));
    const byKey = new Map<string, Entry>();
    for (const e of entries) {
      if (byKey.has(e.key)) return Promise.reject(new BatchError(`Scheduler.run: shard ${e.task.shardId} of job ${e.task.jobId} appears twice`));
      byKey.set(e.key, e);
    }
    return new Promise<void>((resolve, reject) => {
      this.#batch = { entries, byKey, opts, resolve, reject, done: 0, low: 0, failed: false };
      if (this.#running.size === 0) this.#log.info(`scheduler: waiting for a worker with model ${this.#modelHash}`);
      this.#timer = setInterval(() => this.#checkLeases(), this.#lease.checkMs);
      this.#dispatch();
    }).finally(() => {
      if (this.#timer) clearInterval(this.#timer);
      this.#timer = null;
      this.#batch = null;
    });
  }

  /** The deadline of a lease of `group` now, in ms after its start. */
  leaseMs(group: string): number {
    const d = this.#durations.get(group);
    if (!d || d.length === 0) return this.#lease.initialMs;
    return Math.max(this.#lease.floorMs, this.#lease.factor * p95(d));
  }

  #threads(peerId: string): number {
    const p = this.#server.peers().find((x) => x.id === peerId);
    return Math.max(1, p?.capabilities.threads ?? 1);
  }

  /** Concurrent shards a worker is given: its threads plus the prefetch. */
  #slots(peerId: string): number {
    return this.#threads(peerId) + this.#prefetch;
  }

  #stat(peerId: string): PeerStats {
    let st = this.stats.get(peerId);
    if (!st) this.stats.set(peerId, (st = { shards: 0, busyMs: 0, overdue: 0, unleased: 0, mismatches: 0 }));
    return st;
  }

  #onPeer(p: PeerInfo): void {
    const q = this.#quarantined.get(p.id);
    if (q !== undefined) {
      this.#server.refuse(p.id, `worker '${p.id}' is quarantined: ${q}`);
      return;
    }
    if (p.capabilities.modelHash !== this.#modelHash) {
      const msg = `worker '${p.id}' holds model ${p.capabilities.modelHash}, the job needs ${this.#modelHash}: no shards for it`;
      this.#log.warn(`scheduler: ${msg}`);
      // Tell it, with both hashes, so it stops instead of waiting forever (not a permanent refusal:
      // the same id may come back with the right model).
      this.#server.refuse(p.id, `model mismatch: the worker holds model ${p.capabilities.modelHash}, the coordinator's job needs model ${this.#modelHash}`, { permanent: false });
      return;
    }
    this.#banned.delete(p.id);
    this.#slow.delete(p.id);
    this.#running.set(p.id, new Set());
    this.#stat(p.id);
    this.#dispatch();
  }

  #onPeerLost(peerId: string, why: string): void {
    const running = this.#running.get(peerId);
    this.#running.delete(peerId);
    const b = this.#batch;
    if (!running || !b) return;
    const back: Entry[] = [];
    for (const k of running) {
      const e = b.byKey.get(k);
      if (!e || !e.leases.delete(peerId)) continue;
      if (!e.done && e.leases.size === 0) {
        e.partial = 0;
        back.push(e);
      }
    }
    this.counters.reassigned += back.length;
    if (back.length > 0) this.#log.warn(`scheduler: worker '${peerId}' lost (${why}); reassigning shards ${back.map((e) => e.task.shardId).join(', ')} of job ${back[0]!.task.jobId}`);
    this.#dispatch();
  }

  /** Ends `peerId`'s lease on `e` (the worker keeps having held it: a later result is still accepted). */
  #release(e: Entry, peerId: string): Lease | undefined {
    const l = e.leases.get(peerId);
    e.leases.delete(peerId);
    this.#running.get(peerId)?.delete(e.key);
    return l;
  }

  /** Whether `e` should be given to one more worker: not done, and no live lease that is on time. */
  #wants(e: Entry, limit: number): boolean {
    if (e.done) return false;
    if (e.leases.size === 0) return e.opinions.size > 0 || e.index < limit;
    for (const l of e.leases.values()) if (!l.overdue) return false;
    return true;
  }

  #eligible(e: Entry, peerId: string): boolean {
    return !e.leases.has(peerId) && !e.opinions.has(peerId);
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
    const wanted = b.entries.filter((e) => this.#wants(e, limit));
    if (wanted.length === 0) return;
    for (;;) {
      // Least-loaded worker first, so shards spread over the fleet.
      const peers = [...this.#running.entries()]
        .filter(([id, set]) => !this.#banned.has(id) && !this.#onProbation(id, b) && set.size < this.#slots(id))
        .sort((x, y) => x[1].size / this.#slots(x[0]) - y[1].size / this.#slots(y[0]));
      let given = false;
      for (const [peerId, set] of peers) {
        const i = wanted.findIndex((e) => this.#eligible(e, peerId));
        if (i < 0) continue;
        const next = wanted.splice(i, 1)[0]!;
        const backup = next.leases.size > 0;
        const lease: Lease = { since: Date.now(), overdue: false };
        next.leases.set(peerId, lease);
        set.add(next.key);
        let holders = this.#leased.get(next.key);
        if (!holders) this.#leased.set(next.key, (holders = new Set()));
        holders.add(peerId);
        if (backup) {
          this.faults.reexecuted++;
          this.#log.warn(`scheduler: re-executing overdue shard ${next.task.shardId} of job ${next.task.jobId} on '${peerId}' (still leased to ${[...next.leases.keys()].filter((k) => k !== peerId).map((k) => `'${k}'`).join(', ')}; first result wins)`);
        }
        this.counters.assigned++;
        void this.#send(b, next, peerId, lease);
        given = true;
        break;
      }
      if (!given || wanted.length === 0) return;
    }
  }

  async #send(b: Batch, e: Entry, peerId: string, lease: Lease): Promise<void> {
    const stillOurs = (): boolean => e.leases.get(peerId) === lease && !e.done;
    let shard: Shard;
    try {
      shard = await e.task.build();
      // Encoding checks the schema: a shard that does not validate will not on a retry either.
      encodeMessage({ type: 'assign', shard });
    } catch (err) {
      this.#release(e, peerId);
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

  /** Marks leases past their deadline, reports their workers as slow and re-dispatches the shards. */
  #checkLeases(): void {
    const b = this.#batch;
    if (!b || b.failed) return;
    const now = Date.now();
    let any = false;
    for (const e of b.entries) {
      if (e.done) continue;
      for (const [peerId, l] of e.leases) {
        if (l.overdue) continue;
        const limit = this.leaseMs(e.leaseGroup);
        if (now - l.since <= limit) continue;
        l.overdue = true;
        any = true;
        this.faults.overdue++;
        this.#stat(peerId).overdue++;
        const strikes = (this.#slow.get(peerId)?.strikes ?? 0) + 1;
        this.#slow.set(peerId, { strikes, until: now + Math.min(3_600_000, limit * 2 ** Math.min(20, strikes - 1)) });
        const d = this.#durations.get(e.leaseGroup);
        const basis = d?.length ? `max(${this.#lease.floorMs} ms, ${this.#lease.factor} x p95 ${Math.round(p95(d))} ms of ${d.length} shards)` : `the initial ${this.#lease.initialMs} ms`;
        this.#log.warn(`scheduler: worker '${peerId}' is slow: shard ${e.task.shardId} of job ${e.task.jobId} overdue after ${now - l.since} ms (deadline ${Math.round(limit)} ms: ${basis}); it gets no new shards until it answers, and the shard is re-executed elsewhere`);
      }
    }
    if (any || this.#slow.size > 0) this.#dispatch();
  }

  /** Whether a slow worker is still kept from new shards. */
  #onProbation(peerId: string, b: Batch): boolean {
    const s = this.#slow.get(peerId);
    if (!s) return false;
    if (Date.now() < s.until) return true;
    const running = this.#running.get(peerId);
    for (const k of running ?? []) if (b.byKey.get(k)?.leases.get(peerId)?.overdue) return true;
    return false;
  }

  #fail(b: Batch, message: string): void {
    if (b.failed) return;
    b.failed = true;
    this.#log.warn(`scheduler: ${message}`);
    for (const e of b.entries) {
      for (const peerId of [...e.leases.keys()]) {
        this.#server.send(peerId, { type: 'cancel', jobId: e.task.jobId, shardId: e.task.shardId, reason: 'batch failed' }).catch(() => {});
        this.#release(e, peerId);
      }
    }
    b.reject(new BatchError(message));
  }

  #retry(b: Batch, e: Entry, why: string): void {
    const max = b.opts.maxAttempts ?? 5;
    e.failures++;
    if (e.failures >= max) return this.#fail(b, `shard ${e.task.shardId} of job ${e.task.jobId} failed ${e.failures} times; last: ${why}`);
    this.#log.warn(`scheduler: retrying shard ${e.task.shardId} of job ${e.task.jobId} (attempt ${e.failures} of ${max} failed: ${why})`);
    e.done = false;
    e.partial = 0;
    e.opinions.clear();
    this.#dispatch();
  }

  /** Disconnects a worker and refuses it from now on; its unverified work is redone or, if merged, fails the batch. */
  #quarantine(peerId: string, why: string): void {
    if (this.#quarantined.has(peerId)) return;
    this.#quarantined.set(peerId, why);
    this.faults.quarantined++;
    this.#log.warn(`scheduler: quarantining worker '${peerId}': ${why}`);
    this.#server.refuse(peerId, `worker '${peerId}' is quarantined: ${why}`);
    this.#running.delete(peerId);
    const b = this.#batch;
    if (!b) return;
    const tainted: number[] = [];
    for (const e of b.entries) {
      if (e.leases.has(peerId)) this.#release(e, peerId);
      e.opinions.delete(peerId);
      if (e.done && e.acceptedFrom.length === 1 && e.acceptedFrom[0] === peerId) tainted.push(e.task.shardId);
    }
    if (tainted.length > 0) {
      return this.#fail(b, `worker '${peerId}' was quarantined (${why}), and its unverified results for shards ${tainted.join(', ')} of job ${b.entries[0]!.task.jobId} were already taken; start the job again with a larger --verify`);
    }
    this.#dispatch();
  }

  async #onResult(m: Result, p: PeerInfo): Promise<void> {
    const { jobId, shardId } = m.result;
    const key = keyOf(jobId, shardId);
    if (this.#quarantined.has(p.id)) return;
    if (!this.#leased.get(key)?.has(p.id)) {
      // Item 3 of issue 11: a worker may only complete shards it was given.
      this.faults.unleased++;
      this.#stat(p.id).unleased++;
      this.#log.warn(`scheduler: refusing a result for shard ${shardId} of job ${jobId} from '${p.id}': it never held that shard's lease (${this.faults.unleased} refused so far)`);
      return;
    }
    this.#slow.delete(p.id); // it answers
    const b = this.#batch;
    const e = b?.byKey.get(key);
    if (!b || !e || b.failed) {
      this.#log.info(`scheduler: ignoring a result for shard ${shardId} of job ${jobId} from '${p.id}': not part of the running batch`);
      this.#running.get(p.id)?.delete(key);
      return this.#dispatch();
    }
    const lease = this.#release(e, p.id);
    if (e.done) {
      this.#log.info(`scheduler: ignoring a duplicate result for shard ${shardId} of job ${jobId} from '${p.id}'`);
      return this.#dispatch();
    }
    if (lease) {
      let d = this.#durations.get(e.leaseGroup);
      if (!d) this.#durations.set(e.leaseGroup, (d = []));
      d.push(Date.now() - lease.since);
      if (d.length > 64) d.shift();
    }
    let accepted = m.result;
    if (e.verify) {
      e.opinions.set(p.id, { digest: resultDigest(m.result), result: m.result });
      const groups = new Map<string, string[]>();
      for (const [id, o] of e.opinions) groups.set(o.digest, [...(groups.get(o.digest) ?? []), id]);
      const agreed = [...groups.entries()].find(([, ids]) => ids.length >= 2);
      if (!agreed) {
        const others = [...this.#running.keys()].filter((id) => !e.opinions.has(id) && !this.#banned.has(id)).length;
        const waiting = others === 0 ? `; no other worker is connected: waiting for one` : '';
        if (e.opinions.size >= 2) {
          this.faults.verifyMismatches++;
          this.#log.warn(`scheduler: verify: shard ${shardId} of job ${jobId}: the results of ${[...e.opinions.keys()].map((k) => `'${k}'`).join(' and ')} differ; asking another worker to decide${waiting}`);
        } else if (waiting) {
          this.#log.warn(`scheduler: verify: shard ${shardId} of job ${jobId} needs a second worker to re-execute it${waiting}`);
        }
        return this.#dispatch();
      }
      const [digest, ids] = agreed;
      for (const [id, o] of [...e.opinions]) {
        if (o.digest === digest) continue;
        this.#stat(id).mismatches++;
        this.#quarantine(id, `its result for shard ${shardId} of job ${jobId} differs from the bit-identical results of ${ids.map((k) => `'${k}'`).join(' and ')}`);
        if (b.failed) return;
      }
      this.faults.verified++;
      accepted = e.opinions.get(ids[0]!)!.result;
      e.acceptedFrom = ids;
    } else {
      e.acceptedFrom = [p.id];
    }
    for (const other of [...e.leases.keys()]) {
      // First result wins: the other leases (re-executions, verifications) are cancelled.
      this.#server.send(other, { type: 'cancel', jobId, shardId, reason: `result already received from '${p.id}'` }).catch(() => {});
      this.#release(e, other);
    }
    e.done = true;
    try {
      await e.task.accept(accepted);
    } catch (err) {
      return this.#retry(b, e, `result from '${p.id}' refused: ${(err as Error).message}`);
    }
    e.opinions.clear();
    const st = this.#stat(p.id);
    st.shards++;
    st.busyMs += m.result.elapsedMs;
    this.counters.done++;
    b.done++;
    while (b.low < b.entries.length && b.entries[b.low]!.done) b.low++;
    this.#report(b);
    if (b.done === b.entries.length) return b.resolve();
    this.#dispatch();
  }

  #onShardError(m: ShardError, p: PeerInfo): void {
    const key = keyOf(m.jobId, m.shardId);
    const b = this.#batch;
    const e = b?.byKey.get(key);
    if (!b || !e || !e.leases.has(p.id) || e.done) {
      this.#running.get(p.id)?.delete(key);
      return this.#dispatch();
    }
    this.#release(e, p.id);
    this.#slow.delete(p.id);
    const why = `'${p.id}' reported ${m.code}: ${m.message}`;
    if (m.code === 'model-mismatch') {
      this.#banned.add(p.id);
      this.#log.warn(`scheduler: no more shards for worker '${p.id}': ${m.message}`);
      return this.#dispatch();
    }
    if (m.code === 'cancelled') return this.#dispatch();
    if (!m.retryable) return this.#fail(b, `shard ${m.shardId} of job ${m.jobId} failed: ${why}`);
    this.#retry(b, e, why);
  }

  #onProgress(m: Progress, p: PeerInfo): void {
    const b = this.#batch;
    const e = b?.byKey.get(keyOf(m.jobId, m.shardId));
    if (!b || !e || e.done || !e.leases.has(p.id)) return;
    this.#slow.delete(p.id); // its thread moves
    e.partial = Math.max(e.partial, m.done);
    this.#report(b);
  }

  #report(b: Batch): void {
    let inFlight = 0;
    let partial = 0;
    for (const e of b.entries) {
      if (!e.done && e.leases.size > 0) {
        inFlight++;
        partial += e.partial;
      }
    }
    b.opts.onProgress?.({ done: b.done, total: b.entries.length, inFlight, partial });
  }
}
