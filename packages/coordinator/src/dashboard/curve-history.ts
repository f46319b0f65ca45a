// The REINFORCE curves the dashboard has drawn, kept beside the job's checkpoint
// (`<state>/dashboard-curves.json`), so a coordinator restarted with --resume shows the whole curve
// rather than only the steps after the restart. Written atomically, at most every `everyMs` (on
// checkpoint writes) and when the job ends; a missing or unreadable file only means an empty history.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '@mtv/mtv';
import type { JobView } from './state.js';

export const CURVES_FILE = 'dashboard-curves.json';

export type Curves = JobView['curves'];

interface CurvesFile {
  readonly format: 'mtv-dashboard-curves';
  readonly jobId: string;
  readonly curves: Curves;
}

const numbers = (v: unknown): v is number[] => Array.isArray(v) && v.every((x) => typeof x === 'number' || x === null);

export async function loadCurves(stateDir: string, jobId: string): Promise<Curves | null> {
  try {
    const f = JSON.parse(await readFile(join(stateDir, CURVES_FILE), 'utf8')) as Partial<CurvesFile>;
    const c = f.curves;
    if (f.format !== 'mtv-dashboard-curves' || f.jobId !== jobId || !c || !numbers(c.step) || !numbers(c.meanLoss) || !numbers(c.policyLoss) || !Array.isArray(c.validation)) return null;
    if (c.meanLoss.length !== c.step.length || c.policyLoss.length !== c.step.length) return null;
    // JSON writes NaN as null.
    return { step: c.step, meanLoss: c.meanLoss.map((x) => x ?? Number.NaN), policyLoss: c.policyLoss.map((x) => x ?? Number.NaN), validation: c.validation };
  } catch {
    return null;
  }
}

export class CurvesWriter {
  #last = 0;
  #chain: Promise<void> = Promise.resolve();

  constructor(readonly stateDir: string, readonly jobId: string, readonly curves: () => Curves | null, readonly everyMs = 500) {}

  /** Saves when `everyMs` has passed since the last save (or always with `force`). Never throws. */
  poke(force = false): Promise<void> {
    if (!force && Date.now() - this.#last < this.everyMs) return this.#chain;
    this.#last = Date.now();
    const c = this.curves();
    if (!c) return this.#chain;
    const body: CurvesFile = { format: 'mtv-dashboard-curves', jobId: this.jobId, curves: c };
    const text = JSON.stringify(body);
    this.#chain = this.#chain.then(() => writeFileAtomic(join(this.stateDir, CURVES_FILE), text)).catch(() => {});
    return this.#chain;
  }
}
