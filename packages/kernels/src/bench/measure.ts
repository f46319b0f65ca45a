// The one measuring method every bench script uses (issue 18):
//  - warm-ups first: the caller runs the exact timed work untimed (`warmup` runs), so every pipeline
//    variant the timed runs use is compiled before timing (JIT on llvmpipe costs seconds);
//  - A and B interleaved (A B A B ...), at least 5 pairs for a ratio, so drift in the machine's load
//    hits both sides alike; the ratio is computed pair by pair;
//  - every figure as its median and min-max over the repeats;
//  - the machine's load average printed at the start and the end of a bench;
//  - a quick mode (`--quick` or MTV_BENCH_QUICK=1) with tiny sizes, for the test that runs every
//    quoted bench command; its figures are not for the record.
// Paths given on a bench's command line resolve against the caller's directory: npm runs workspace
// scripts inside the workspace folder, and sets INIT_CWD to where `npm run` was typed.
import { loadavg } from 'node:os';
import { isAbsolute, resolve } from 'node:path';

export interface Stats {
  readonly n: number;
  readonly median: number;
  readonly min: number;
  readonly max: number;
  readonly samples: readonly number[];
}

export function stats(samples: readonly number[]): Stats {
  if (samples.length === 0) throw new Error('stats: no samples');
  const s = [...samples].sort((p, q) => p - q);
  const h = s.length >> 1;
  const median = s.length % 2 ? s[h]! : (s[h - 1]! + s[h]!) / 2;
  return { n: s.length, median, min: s[0]!, max: s[s.length - 1]!, samples: [...samples] };
}

/** `12.3 [11.9–13.0]` (median and min–max), with `digits` decimals. */
export function fmtStats(s: Stats, digits = 2, unit = ''): string {
  const f = (v: number): string => v.toFixed(digits);
  return `${f(s.median)}${unit} [${f(s.min)}–${f(s.max)}]`;
}

/** Maps every sample (e.g. ms -> GFLOP/s); min and max swap when `f` is decreasing. */
export function mapStats(s: Stats, f: (v: number) => number): Stats {
  return stats(s.samples.map(f));
}

export interface RepeatOptions {
  /** Untimed runs first (compiles every pipeline variant the timed runs use). Default 1. */
  readonly warmup?: number;
  /** Timed runs. Default 5. */
  readonly repeats?: number;
}

/** `run()` returns its own measured time in ms (so it can leave set-up out), or undefined to be timed whole. */
type Timed = () => Promise<number | void> | number | void;

async function once(run: Timed): Promise<number> {
  const t0 = performance.now();
  const r = await run();
  return typeof r === 'number' ? r : performance.now() - t0;
}

/** Median and min–max of `repeats` timed runs after `warmup` untimed ones. */
export async function repeat(run: Timed, opts: RepeatOptions = {}): Promise<Stats> {
  const { warmup = 1, repeats = 5 } = opts;
  for (let i = 0; i < warmup; i++) await once(run);
  const xs: number[] = [];
  for (let i = 0; i < repeats; i++) xs.push(await once(run));
  return stats(xs);
}

export interface Interleaved {
  readonly a: Stats;
  readonly b: Stats;
  /** b / a, pair by pair. */
  readonly ratio: Stats;
}

/**
 * A and B interleaved: `warmup` untimed runs of each, then `pairs` (at least 5 unless `quick`)
 * of A then B, alternating which goes first so neither always follows the other.
 */
export async function interleave(a: Timed, b: Timed, opts: { warmup?: number; pairs?: number; quick?: boolean } = {}): Promise<Interleaved> {
  const { warmup = 1, pairs = 5 } = opts;
  if (pairs < 5 && !opts.quick) throw new Error(`interleave: at least 5 pairs for a ratio (got ${pairs})`);
  for (let i = 0; i < warmup; i++) {
    await once(a);
    await once(b);
  }
  const ta: number[] = [];
  const tb: number[] = [];
  for (let i = 0; i < pairs; i++) {
    if (i % 2 === 0) {
      ta.push(await once(a));
      tb.push(await once(b));
    } else {
      tb.push(await once(b));
      ta.push(await once(a));
    }
  }
  return { a: stats(ta), b: stats(tb), ratio: stats(ta.map((x, i) => tb[i]! / x)) };
}

/** Several variants interleaved round-robin (A B C A B C ...), `rounds` times after `warmup` each. */
export async function roundRobin<K extends string>(runs: Readonly<Record<K, Timed>>, opts: { warmup?: number; rounds?: number } = {}): Promise<Record<K, Stats>> {
  const { warmup = 1, rounds = 5 } = opts;
  const keys = Object.keys(runs) as K[];
  for (let i = 0; i < warmup; i++) for (const k of keys) await once(runs[k]);
  const xs = Object.fromEntries(keys.map((k) => [k, [] as number[]])) as unknown as Record<K, number[]>;
  for (let i = 0; i < rounds; i++) {
    const order = i % 2 === 0 ? keys : [...keys].reverse();
    for (const k of order) xs[k].push(await once(runs[k]));
  }
  return Object.fromEntries(keys.map((k) => [k, stats(xs[k])])) as unknown as Record<K, Stats>;
}

/** Pair-by-pair ratio of two sample lists of equal length (b_i / a_i). */
export const pairRatio = (a: Stats, b: Stats): Stats => stats(a.samples.map((x, i) => b.samples[i]! / x));

export const loadAverageLine = (): string => {
  const [one, five, fifteen] = loadavg();
  return `load average ${one!.toFixed(2)}, ${five!.toFixed(2)}, ${fifteen!.toFixed(2)} (1, 5, 15 min)`;
};

/** Prints the load average now and returns a function that prints it again at the end. */
export function benchSession(name: string, log: (s: string) => void = (s) => console.log(s)): { end(): void; quick: boolean } {
  const quick = isQuick();
  log(`${name}: start ${new Date().toISOString()}, ${loadAverageLine()}${quick ? ', QUICK MODE (tiny sizes, figures not for the record)' : ''}`);
  return { quick, end: () => log(`${name}: end ${new Date().toISOString()}, ${loadAverageLine()}`) };
}

export const isQuick = (argv: readonly string[] = process.argv): boolean => argv.includes('--quick') || process.env.MTV_BENCH_QUICK === '1';

/** A path from the command line, resolved against the directory `npm run` was typed in (INIT_CWD), else the cwd. */
export function callerPath(p: string): string {
  return isAbsolute(p) ? p : resolve(process.env.INIT_CWD ?? process.cwd(), p);
}
