// A coordinator in one call: the WebSocket server, a scheduler for one model, and the pipeline.
import { CoordinatorServer, type CoordinatorServerOptions } from '../net/index.js';
import { consoleLogger, type Logger } from '../net/logger.js';
import { Scheduler } from '../scheduler/index.js';
import { runPipeline, type PipelineOptions, type PipelineResult } from '../jobs/index.js';

export interface FleetCoordinatorOptions extends Omit<CoordinatorServerOptions, 'logger'> {
  readonly logger?: Logger;
}

export class FleetCoordinator {
  readonly server: CoordinatorServer;
  readonly logger: Logger;
  #scheduler: Scheduler | null = null;

  constructor(opts: FleetCoordinatorOptions = {}) {
    this.logger = opts.logger ?? consoleLogger;
    this.server = new CoordinatorServer({ ...opts, logger: this.logger });
  }

  start(): Promise<{ host: string; port: number }> {
    return this.server.start();
  }

  /** The scheduler for `modelHash` (one model per coordinator). */
  scheduler(modelHash: string): Scheduler {
    if (this.#scheduler) return this.#scheduler;
    return (this.#scheduler = new Scheduler(this.server, { modelHash, logger: this.logger }));
  }

  /** Runs a job; waits for `minWorkers` eligible workers first. */
  async run(opts: Omit<PipelineOptions, 'scheduler' | 'logger'> & { minWorkers?: number }): Promise<PipelineResult> {
    const scheduler = this.scheduler(opts.spec.model.hash);
    if ((opts.minWorkers ?? 0) > 0) {
      this.logger.info(`coordinator: waiting for ${opts.minWorkers} worker(s) with model ${opts.spec.model.hash.slice(0, 12)}`);
      await scheduler.waitForWorkers(opts.minWorkers);
    }
    return runPipeline({ ...opts, scheduler, logger: this.logger });
  }

  /** Stops serving; workers are told whether to come back (`reconnect`). */
  close(opts: { reason?: string; reconnect?: boolean } = {}): Promise<void> {
    return this.server.close(opts);
  }
}
