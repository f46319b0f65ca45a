// Prometheus metrics of one coordinator (prom-client), on its own registry so two coordinators in one
// process (tests) never share counters. Scheduler figures are read at scrape time; job figures come
// from the pipeline's events; frame errors from the server's closed connections.
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type { PipelineEvent } from '../jobs/index.js';
import { CloseCode, type ConnectionClosed, type CoordinatorServer } from '../net/index.js';
import type { Scheduler } from '../scheduler/index.js';

/** Every metric name this module registers (documented in the README). */
export const METRIC_NAMES = [
  'mtv_shards_queued', 'mtv_shards_running', 'mtv_shards_done_total', 'mtv_shards_assigned_total', 'mtv_shards_reassigned_total',
  'mtv_extract_rounds_total', 'mtv_rounds_per_second', 'mtv_workers_connected', 'mtv_locate_steps_total', 'mtv_rollout_loss',
  'mtv_frame_errors_total', 'mtv_checkpoint_writes_total', 'mtv_job_phase', 'mtv_http_requests_total',
] as const;

/** Close codes that mean the peer sent a bad frame. */
const FRAME_ERROR_CODES = new Map<number, string>([
  [CloseCode.protocolError, 'protocol-error'], [CloseCode.tooLarge, 'too-large'], [1002, 'framing'], [CloseCode.helloTimeout, 'no-hello'],
]);

/** Rounds per second over the last `windowMs` of extract progress. */
class RateWindow {
  readonly #points: { t: number; v: number }[] = [];
  constructor(readonly windowMs = 10_000) {}
  add(v: number, t = Date.now()): void {
    this.#points.push({ t, v });
    while (this.#points.length > 2 && this.#points[0]!.t < t - this.windowMs) this.#points.shift();
  }
  rate(now = Date.now()): number {
    const p = this.#points;
    if (p.length < 2 || now - p[p.length - 1]!.t > this.windowMs) return 0;
    const dt = (p[p.length - 1]!.t - p[0]!.t) / 1000;
    return dt > 0 ? (p[p.length - 1]!.v - p[0]!.v) / dt : 0;
  }
}

export class FleetMetrics {
  readonly registry = new Registry();
  readonly #rounds: Counter;
  readonly #steps: Counter;
  readonly #loss: Gauge;
  readonly #frameErrors: Counter;
  readonly #checkpoints: Counter;
  readonly #phase: Gauge;
  readonly #http: Counter;
  readonly #rate = new RateWindow();
  #roundsSeen = 0;

  constructor(server: CoordinatorServer, scheduler: () => Scheduler | null) {
    const registers = [this.registry];
    const gauges = (): ReturnType<Scheduler['shardGauges']> => scheduler()?.shardGauges() ?? { queued: 0, running: 0, done: 0, total: 0 };
    new Gauge({ name: 'mtv_shards_queued', help: 'shards of the running batch waiting for a worker', registers, collect() { this.set(gauges().queued); } });
    new Gauge({ name: 'mtv_shards_running', help: 'shards of the running batch leased to a worker', registers, collect() { this.set(gauges().running); } });
    // Counters mirrored from the scheduler's totals: advanced by the difference at each scrape.
    const mirror = (name: string, help: string, read: (s: Scheduler) => number): void => {
      let last = 0;
      new Counter({
        name, help, registers,
        collect() {
          const s = scheduler();
          const v = s ? read(s) : 0;
          if (v > last) this.inc(v - last);
          last = Math.max(last, v);
        },
      });
    };
    mirror('mtv_shards_done_total', 'shards whose result was accepted', (s) => s.counters.done);
    mirror('mtv_shards_assigned_total', 'shard assignments sent to workers (re-executions and verifications included)', (s) => s.counters.assigned);
    mirror('mtv_shards_reassigned_total', 'shards put back in the queue because their worker was lost', (s) => s.counters.reassigned);
    this.#rounds = new Counter({ name: 'mtv_extract_rounds_total', help: 'extract rounds finished (as reported in progress, resumed rounds included)', registers });
    const rate = this.#rate;
    new Gauge({ name: 'mtv_rounds_per_second', help: 'extract rounds per second over the last 10 s', registers, collect() { this.set(rate.rate()); } });
    new Gauge({ name: 'mtv_workers_connected', help: 'workers that completed the handshake and are connected', registers, collect() { this.set(server.peers().length); } });
    this.#steps = new Counter({ name: 'mtv_locate_steps_total', help: 'REINFORCE steps applied', registers });
    this.#loss = new Gauge({ name: 'mtv_rollout_loss', help: 'last REINFORCE rollout losses: kind=mean (mean first-token CE of the step), policy, validation', labelNames: ['kind'], registers });
    this.#frameErrors = new Counter({ name: 'mtv_frame_errors_total', help: 'worker connections closed for a bad frame, by reason', labelNames: ['reason'], registers });
    this.#checkpoints = new Counter({ name: 'mtv_checkpoint_writes_total', help: 'job checkpoints written', registers });
    this.#phase = new Gauge({ name: 'mtv_job_phase', help: '1 for the phase the job is in (extract, locate, eval, done)', labelNames: ['job', 'phase'], registers });
    this.#http = new Counter({ name: 'mtv_http_requests_total', help: 'dashboard and metrics HTTP requests, by status code', labelNames: ['status'], registers });
    collectDefaultMetrics({ register: this.registry, prefix: 'mtv_coordinator_' });
    server.on('connection-closed', (info) => this.onConnectionClosed(info));
  }

  onConnectionClosed(info: ConnectionClosed): void {
    const reason = FRAME_ERROR_CODES.get(info.code);
    if (reason) this.#frameErrors.inc({ reason });
  }

  onHttp(status: number): void {
    this.#http.inc({ status: String(status) });
  }

  #setPhase(jobId: string, phase: string): void {
    for (const p of ['extract', 'locate', 'eval', 'done']) this.#phase.set({ job: jobId, phase: p }, p === phase ? 1 : 0);
  }

  onEvent(jobId: string, e: PipelineEvent): void {
    switch (e.kind) {
      case 'phase-start':
        return this.#setPhase(jobId, e.phase);
      case 'resumed':
        return this.#setPhase(jobId, e.phase);
      case 'extract-progress':
        if (e.rounds > this.#roundsSeen) {
          this.#rounds.inc(e.rounds - this.#roundsSeen);
          this.#roundsSeen = e.rounds;
        }
        this.#rate.add(e.rounds);
        return;
      case 'locate-step':
        this.#steps.inc();
        this.#loss.set({ kind: 'mean' }, e.meanLoss);
        if (e.policyLoss !== undefined) this.#loss.set({ kind: 'policy' }, e.policyLoss);
        return;
      case 'locate-validation':
        this.#loss.set({ kind: 'validation' }, e.loss);
        return;
      case 'checkpoint-written':
        this.#checkpoints.inc();
        return;
      default:
        return;
    }
  }

  jobDone(jobId: string): void {
    this.#setPhase(jobId, 'done');
  }

  /** The exposition text and its content type. */
  async render(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}
