// A coordinator in one call: the WebSocket server, a scheduler for one model, and the pipeline.
import { CoordinatorServer, type CoordinatorServerOptions } from '../net/index.js';
import { consoleLogger, type Logger } from '../net/logger.js';
import { Scheduler, type LeaseOptions } from '../scheduler/index.js';
import { runPipeline, type PipelineOptions, type PipelineResult } from '../jobs/index.js';

export interface FleetCoordinatorOptions extends Omit<CoordinatorServerOptions, 'logger'> {
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
  #scheduler: Scheduler | null = null;
  readonly #opts: FleetCoordinatorOptions;

  constructor(opts: FleetCoordinatorOptions = {}) {
    this.#opts = opts;
    this.logger = opts.logger ?? consoleLogger;
    this.server = new CoordinatorServer({ ...opts, logger: this.logger });
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
    try {
      return await runPipeline({ ...opts, scheduler, logger: this.logger, waitForWorkers });
    } finally {
      const f = scheduler.faultSummary();
      if (f) this.logger.warn(f);
    }
  }

  /** Stops serving; workers are told whether to come back (`reconnect`). */
  close(opts: { reason?: string; reconnect?: boolean } = {}): Promise<void> {
    return this.server.close(opts);
  }
}
