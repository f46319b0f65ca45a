// Progress of a job on stderr: cli-progress bars on a terminal, a line per 10% otherwise (logs, CI).
import cliProgress from 'cli-progress';
import type { Phase, PipelineEvent } from '../jobs/index.js';

interface Sink {
  update(phase: Phase, value: number, total: number, info: string): void;
  done(phase: Phase, ms: number): void;
  stop(): void;
}

function barSink(stream: NodeJS.WriteStream): Sink {
  const multi = new cliProgress.MultiBar(
    { stream, format: ' {phase} |{bar}| {value}/{total} {info}', hideCursor: true, clearOnComplete: false, barsize: 30, etaBuffer: 20 },
    cliProgress.Presets.shades_classic,
  );
  const bars = new Map<Phase, cliProgress.SingleBar>();
  const label = (p: Phase): string => p.padEnd(7);
  return {
    update(phase, value, total, info) {
      let bar = bars.get(phase);
      if (!bar) {
        bar = multi.create(total, value, { phase: label(phase), info });
        bars.set(phase, bar);
      }
      bar.setTotal(total);
      bar.update(value, { phase: label(phase), info });
    },
    done(phase, ms) {
      bars.get(phase)?.update({ info: `done in ${(ms / 1000).toFixed(1)} s` });
    },
    stop: () => multi.stop(),
  };
}

function lineSink(stream: NodeJS.WritableStream): Sink {
  const last = new Map<Phase, number>();
  return {
    update(phase, value, total, info) {
      const decile = Math.floor((10 * value) / Math.max(1, total));
      if (last.get(phase) === decile) return;
      last.set(phase, decile);
      stream.write(`[${phase}] ${value}/${total} ${info}\n`);
    },
    done(phase, ms) {
      stream.write(`[${phase}] done in ${(ms / 1000).toFixed(1)} s\n`);
    },
    stop: () => {},
  };
}

export class ProgressView {
  readonly #sink: Sink;
  #valLoss: number | null = null;

  constructor(stream: NodeJS.WriteStream = process.stderr, bars = stream.isTTY === true) {
    this.#sink = bars ? barSink(stream) : lineSink(stream);
  }

  readonly onEvent = (e: PipelineEvent): void => {
    switch (e.kind) {
      case 'extract-progress':
        return this.#sink.update('extract', e.rounds, e.total, `rounds, ${e.workers} worker(s)`);
      case 'locate-step':
        return this.#sink.update('locate', e.step, e.steps, `steps, loss ${e.meanLoss.toFixed(3)}, ${e.headsAboveHalf} heads p>0.5${this.#valLoss !== null ? `, val ${this.#valLoss.toFixed(3)}` : ''}`);
      case 'locate-validation':
        this.#valLoss = e.loss;
        return;
      case 'eval-progress':
        return this.#sink.update('eval', e.done, e.total, 'shards');
      case 'phase-done':
        return this.#sink.done(e.phase, e.ms);
      default:
        return;
    }
  };

  stop(): void {
    this.#sink.stop();
  }
}
