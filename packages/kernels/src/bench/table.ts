// Benchmark helpers: timing recorded GPU work and printing aligned text tables.
import type { Gpu } from '../gpu.js';
import type { Recorder } from '../recorder.js';
import { repeat, type Stats } from './measure.js';

export interface TimeOptions {
  /** Untimed submits first (pipeline JIT, buffer first-touch). */
  warmup?: number;
  /** Timed submits; the median and min–max are reported. */
  iters?: number;
  /** Copies of the work recorded into each submit, to amortise submit overhead (ms is per copy). */
  perSubmit?: number;
}

/** One timed submit of `perSubmit` copies of `record`, in ms per copy (recording is not timed). */
async function submitOnce(gpu: Gpu, record: (rec: Recorder) => Promise<void>, perSubmit: number): Promise<number> {
  const rec = gpu.recorder('bench');
  for (let i = 0; i < perSubmit; i++) await record(rec);
  const t0 = performance.now();
  await rec.submit();
  // submit() without reads resolves on its error scopes, not when the GPU is done (on Dawn Vulkan it
  // returns in ms while the work runs for seconds): the timed span ends when the queue's work is done.
  await gpu.device.queue.onSubmittedWorkDone();
  return (performance.now() - t0) / perSubmit;
}

/**
 * Wall time in ms of `record` (which records work into the given recorder), measured as whole
 * submits of `perSubmit` copies each, divided by `perSubmit`: the shared method of measure.ts
 * (warm-ups first, median and min–max). `firstMs` is the first warm-up's wall time including
 * recording, i.e. the pipeline's first-use (JIT) cost plus one run.
 */
export async function timeItStats(gpu: Gpu, record: (rec: Recorder) => Promise<void>, opts: TimeOptions = {}): Promise<Stats & { firstMs: number }> {
  const { warmup = 1, iters = 5, perSubmit = 1 } = opts;
  const t0 = performance.now();
  await submitOnce(gpu, record, 1);
  const firstMs = performance.now() - t0;
  const s = await repeat(() => submitOnce(gpu, record, perSubmit), { warmup: Math.max(0, warmup - 1), repeats: iters });
  return { ...s, firstMs };
}

/** The median of timeItStats. */
export async function timeIt(gpu: Gpu, record: (rec: Recorder) => Promise<void>, opts: TimeOptions = {}): Promise<number> {
  return (await timeItStats(gpu, record, opts)).median;
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
