// CLI plumbing: where output goes, option parsers that name the option, progress bars on stderr.
import { InvalidArgumentError } from 'commander';
import cliProgress from 'cli-progress';
import type { Gpu } from '@mtv/kernels';

export interface CliIo {
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream;
  /** A device to load models on (tests share one); otherwise each command acquires its own. */
  readonly gpu?: Gpu;
}

export class CliError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CliError';
  }
}

export const intArg = (min: number) => (v: string): number => {
  const n = Number(v);
  if (!/^-?\d+$/.test(v.trim()) || !Number.isSafeInteger(n) || n < min) throw new InvalidArgumentError(`expected an integer >= ${min}, got '${v}'`);
  return n;
};

export const numArg = (v: string): number => {
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n)) throw new InvalidArgumentError(`expected a number, got '${v}'`);
  return n;
};

export const listArg = (v: string): string[] => v.split(',').map((s) => s.trim()).filter((s) => s.length > 0);

export const intListArg = (v: string): number[] => listArg(v).map(intArg(1));

/** A seed stays a string unless it is a plain integer (the PRNG keys accept both). */
export const seedArg = (v: string): number | string => (/^\d+$/.test(v) ? Number(v) : v);

export const collect = (v: string, prev: string[] = []): string[] => [...prev, v];

export interface Progress {
  update(done: number, total?: number): void;
  stop(): void;
}

/** A progress bar on stderr (drawn only when stderr is a terminal; silent with --quiet). */
export function progressBar(io: CliIo, label: string, total: number, quiet: boolean): Progress {
  if (quiet) return { update: () => {}, stop: () => {} };
  const bar = new cliProgress.SingleBar(
    { stream: io.stderr, format: `${label} [{bar}] {value}/{total} {percentage}% eta {eta_formatted}`, hideCursor: false, clearOnComplete: false },
    cliProgress.Presets.shades_classic,
  );
  bar.start(total, 0);
  return {
    update: (done, t) => {
      if (t !== undefined && t !== bar.getTotal()) bar.setTotal(t);
      bar.update(done);
    },
    stop: () => bar.stop(),
  };
}

export const writeLine = (s: NodeJS.WritableStream, text: string): void => {
  s.write(text.endsWith('\n') ? text : `${text}\n`);
};

/** --json output: one JSON document on stdout (typed arrays become plain arrays). */
export const writeJson = (io: CliIo, value: unknown): void =>
  writeLine(io.stdout, JSON.stringify(value, (_k, v: unknown) => (ArrayBuffer.isView(v) && !(v instanceof DataView) ? Array.from(v as unknown as ArrayLike<number>) : v)));
