// Benchmark helpers: timing recorded GPU work and printing aligned text tables.
import type { Gpu } from '../gpu.js';
import type { Recorder } from '../recorder.js';

export interface TimeOptions {
  /** Untimed submits first (pipeline JIT, buffer first-touch). */
  warmup?: number;
  /** Timed submits; the median is reported. */
  iters?: number;
  /** Copies of the work recorded into each submit, to amortise submit overhead (ms is per copy). */
  perSubmit?: number;
}

const median = (a: number[]): number => {
  const s = [...a].sort((p, q) => p - q);
  const h = s.length >> 1;
  return s.length % 2 ? s[h]! : (s[h - 1]! + s[h]!) / 2;
};

/**
 * Median wall time in ms of `record` (which records work into the given recorder), measured as
 * whole submits of `perSubmit` copies each, divided by `perSubmit`.
 */
export async function timeIt(gpu: Gpu, record: (rec: Recorder) => Promise<void>, opts: TimeOptions = {}): Promise<number> {
  const { warmup = 1, iters = 5, perSubmit = 1 } = opts;
  const once = async (): Promise<number> => {
    const rec = gpu.recorder('bench');
    for (let i = 0; i < perSubmit; i++) await record(rec);
    const t0 = performance.now();
    await rec.submit();
    return (performance.now() - t0) / perSubmit;
  };
  for (let i = 0; i < warmup; i++) await once();
  const times: number[] = [];
  for (let i = 0; i < iters; i++) times.push(await once());
  return median(times);
}

export type Cell = string | number;

/** An aligned text table: text left-aligned, numbers right-aligned. */
export function formatTable(header: readonly string[], rows: readonly (readonly Cell[])[]): string {
  const text = (c: Cell): string => (typeof c === 'number' ? (Number.isInteger(c) ? String(c) : c.toFixed(2)) : c);
  const all = [header, ...rows.map((r) => r.map(text))];
  const widths = header.map((_, i) => Math.max(...all.map((r) => (r[i] ?? '').length)));
  const line = (r: readonly Cell[], raw: readonly string[]): string =>
    raw.map((s, i) => (typeof r[i] === 'number' ? s.padStart(widths[i]!) : s.padEnd(widths[i]!))).join('  ').trimEnd();
  const out = [line(header, header), widths.map((w) => '-'.repeat(w)).join('  ')];
  rows.forEach((r, k) => out.push(line(r, all[k + 1]!)));
  return out.join('\n');
}

export function printTable(title: string, header: readonly string[], rows: readonly (readonly Cell[])[]): void {
  console.log(`\n${title}\n${formatTable(header, rows)}`);
}
