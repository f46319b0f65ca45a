// A coordinator in one call: the WebSocket server, a scheduler for one model, and the pipeline.
import { DashboardState, EventStream, dashboardRoutes } from '../dashboard/index.js';
import { CurvesWriter, loadCurves } from '../dashboard/curve-history.js';
import { FleetMetrics } from '../metrics/index.js';
import { CoordinatorServer, isLoopbackHost, type CoordinatorServerOptions } from '../net/index.js';
import { consoleLogger, type Logger } from '../net/logger.js';
import { Scheduler, type LeaseOptions } from '../scheduler/index.js';
import { runPipeline, type PipelineEvent, type PipelineOptions, type PipelineResult } from '../jobs/index.js';

export interface FleetCoordinatorOptions extends Omit<CoordinatorServerOptions, 'logger' | 'httpHandler'> {
  /** Serve the live dashboard on the coordinator's port (default true); /metrics is served either way. */
  readonly dashboard?: boolean;
  readonly logger?: Logger;
  /** Shard lease deadlines (a stalled worker's shards are re-executed elsewhere). */
  readonly lease?: LeaseOptions;
  /** Fraction of shards re-executed on a second worker and required to be bit-identical (0: none). */
  readonly verify?: number;
  /** Which shards --verify picks (default: the job's extract seed). */
  readonly verifySeed?: number | string;
}

export class FleetCoordinator {
  readonly server: CoordinatorServer;
  readonly logger: Logger;
  /** Prometheus metrics (served at /metrics). */
  readonly metrics: FleetMetrics;
  /** What the dashboard shows; null when it is off. */
  readonly dashboard: DashboardState | null;
  readonly #stream: EventStream | null;
  #scheduler: Scheduler | null = null;
  readonly #opts: FleetCoordinatorOptions;

  constructor(opts: FleetCoordinatorOptions = {}) {
    this.#opts = opts;
    this.logger = opts.logger ?? consoleLogger;
    let routes: ReturnType<typeof dashboardRoutes> | null = null;
    this.server = new CoordinatorServer({ ...opts, logger: this.logger, httpHandler: (req, res) => routes!(req, res) });
    this.metrics = new FleetMetrics(this.server, () => this.#scheduler);
    const on = opts.dashboard ?? true;
    const state = on ? new DashboardState(this.server, () => this.#scheduler) : null;
    const stream = state ? new EventStream(() => state.snapshot()) : null;
    if (state && stream) state.onChange(() => stream.poke());
    this.dashboard = state;
    this.#stream = stream;
    // Beyond loopback the page and /metrics need the workers' token too (the server refuses to bind there without one).
    routes = dashboardRoutes({
      token: isLoopbackHost(this.server.host) ? undefined : opts.token, metrics: this.metrics, logger: this.logger,
      dashboard: state && stream ? { state, stream } : null,
    });
  }

  /** The dashboard's address once listening (null when it is off). */
  dashboardUrl(): string | null {
    if (!this.dashboard) return null;
    const { host, port } = this.server.address;
    return `http://${host.includes(':') ? `[${host}]` : host}:${port}/`;
  }

  start(): Promise<{ host: string; port: number }> {
    return this.server.start();
  }

  /** The scheduler for `modelHash` (one model per coordinator). */
  scheduler(modelHash: string, verifySeed: number | string = 0): Scheduler {
    if (this.#scheduler) return this.#scheduler;
    const o = this.#opts;
    return (this.#scheduler = new Scheduler(this.server, {
      modelHash, logger: this.logger, ...(o.lease ? { lease: o.lease } : {}),
      ...(o.verify ? { verify: { fraction: o.verify, seed: o.verifySeed ?? verifySeed } } : {}),
    }));
  }

  /** Runs a job; waits for `minWorkers` eligible workers first. */
  async run(opts: Omit<PipelineOptions, 'scheduler' | 'logger'> & { minWorkers?: number }): Promise<PipelineResult> {
    const scheduler = this.scheduler(opts.spec.model.hash, opts.spec.extract.seed);
    // The data, the annotations and the checkpoint are read and checked before any worker is
    // waited for (runPipeline calls this after them), so a typo fails at once.
    const waitForWorkers = async (): Promise<void> => {
      if ((opts.minWorkers ?? 0) <= 0) return;
      this.logger.info(`coordinator: waiting for ${opts.minWorkers} worker(s) with model ${opts.spec.model.hash.slice(0, 12)}`);
      await scheduler.waitForWorkers(opts.minWorkers);
    };
    const jobId = opts.spec.jobId;
    const dash = this.dashboard;
    // The curves are kept beside the checkpoint, so a --resume shows them whole.
    const history = dash && opts.stateDir && opts.resume ? await loadCurves(opts.stateDir, jobId) : null;
    dash?.jobStarted(opts.spec, history);
    const curves = dash && opts.stateDir ? new CurvesWriter(opts.stateDir, jobId, () => dash.curves(jobId)) : null;
    const emit = (e: PipelineEvent): void => {
      this.metrics.onEvent(jobId, e);
      dash?.onEvent(jobId, e);
      if (e.kind === 'checkpoint-written') void curves?.poke();
      opts.emit?.(e);
    };
    try {
      const r = await runPipeline({ ...opts, emit, scheduler, logger: this.logger, waitForWorkers });
      this.dashboard?.jobFinished(r);
      this.metrics.jobDone(jobId);
      await curves?.poke(true);
      return r;
    } catch (e) {
      this.dashboard?.jobFailed(jobId, e instanceof Error ? e : new Error(String(e)));
      throw e;
    } finally {
      const f = scheduler.faultSummary();
      if (f) this.logger.warn(f);
    }
  }

  /** Stops serving; workers are told whether to come back (`reconnect`). */
  close(opts: { reason?: string; reconnect?: boolean } = {}): Promise<void> {
    // The last state reaches open pages before their streams end (they reconnect to a restarted coordinator).
    if (!(opts.reconnect ?? false)) this.dashboard?.markClosed(); // a restart (reconnect) is not the end
    this.#stream?.flush();
    this.#stream?.close();
    return this.server.close(opts);
  }
}
