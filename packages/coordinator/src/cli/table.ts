// The job's closing table: accuracy per eval mode, the shot sweep (shots compressed -> MTV accuracy,
// and ICL at the most shots given), shots compressed, wall time per phase.
import { describeScoring, shotsPerRound } from '@mtv/mtv';
import type { PipelineResult } from '../jobs/index.js';

const pct = (x: number): string => `${(100 * x).toFixed(1)}%`;
const secs = (ms: number | undefined): string => (ms === undefined ? '-' : `${(ms / 1000).toFixed(1)} s`);

export const MODE_LABEL: Record<string, (shots: number) => string> = {
  'zero-shot': () => 'zero-shot',
  icl: (k) => `${k}-shot ICL`,
  mtv: () => 'MTV (zero-shot + task vector)',
  'mtv+icl': (k) => `MTV + ${k}-shot ICL`,
};

function grid(rows: string[][]): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  const line = (r: string[]): string => r.map((x, c) => x.padEnd(widths[c]!)).join('  ').trimEnd();
  return [line(rows[0]!), line(widths.map((w) => '-'.repeat(w))), ...rows.slice(1).map(line)].join('\n');
}

export function formatResultTable(r: PipelineResult): string {
  const s = r.spec;
  const out: string[] = [];
  if (r.summaries.length > 0) {
    out.push(grid([
      ['method', 'accuracy', '95% interval', 'n', 'metric'],
      ...r.summaries.map((m) => [MODE_LABEL[m.mode]!(m.shots), pct(m.accuracy), `[${pct(m.lower)}, ${pct(m.upper)}]`, String(m.n), m.metric]),
    ]));
    if (r.summaries[0]?.scoring) out.push(describeScoring(r.summaries[0].scoring));
    out.push('');
  }
  // eval.sweep: shots compressed -> MTV accuracy, and the ICL baseline at bestIclShots.
  if (r.sweep.length > 0 || r.bestIcl) {
    if (r.sweep.length > 0) {
      out.push(grid([
        ['shots compressed', 'MTV accuracy', '95% interval', 'n', 'rounds'],
        ...r.sweep.map((p) => [String(p.shotsCompressed), pct(p.summary.accuracy), `[${pct(p.summary.lower)}, ${pct(p.summary.upper)}]`, String(p.summary.n), String(p.rounds)]),
      ]));
    }
    if (r.bestIcl) {
      const b = r.bestIcl;
      out.push(`best ICL that fits: ${b.shots}-shot ICL ${pct(b.accuracy)} [${pct(b.lower)}, ${pct(b.upper)}], n ${b.n}`);
    }
    out.push('');
  }
  const heads = r.located ? r.located.heads.reduce((a, b) => a + b, 0) : 0;
  const g = s.model.geometry;
  out.push(grid([
    ['', ''],
    ['shots compressed', `${s.extract.rounds * shotsPerRound(s.data.format, s.extract.shots)} (${s.extract.rounds} rounds x ${shotsPerRound(s.data.format, s.extract.shots)} shots)`],
    ['heads in the MTV', r.located ? `${heads} of ${g.layers * g.heads}` : '- (no locate phase)'],
    ['extract wall time', secs(r.timings.extract)],
    ['locate wall time', secs(r.timings.locate)],
    ['eval wall time', secs(r.timings.eval)],
  ]).split('\n').slice(2).join('\n'));
  return out.join('\n');
}
