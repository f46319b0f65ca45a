// `mtv inspect FILE --html report.html`: one self-contained page (no script, no external file) with the
// heatmaps (SVG inline), the provenance and the chosen heads with their probability and mean norm.
import type { MtvArtifact } from '../artifact/types.js';
import { headMaps } from './head-maps.js';
import { heatmapSvg } from './heatmap-svg.js';

const esc = (s: string): string => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const row = (cells: readonly (string | number)[], tag = 'td'): string => `<tr>${cells.map((c) => `<${tag}>${esc(String(c))}</${tag}>`).join('')}</tr>`;

export function htmlReport(file: string, a: MtvArtifact): string {
  const m = headMaps(a);
  const p = a.provenance;
  const chosen: string[] = [];
  if (m.chosen) {
    for (let i = 0; i < m.chosen.length; i++) {
      if (!m.chosen[i]) continue;
      chosen.push(row([Math.floor(i / m.heads), i % m.heads, m.probabilities ? m.probabilities[i]!.toFixed(3) : '-', m.meanNorms[i]!.toPrecision(4)]));
    }
  }
  const facts: [string, string | number][] = [
    ['file', file], ['model', `${p.modelId} (${p.modelHash})`], ['written by', `@mtv/mtv ${p.codeVersion}`],
    ['heads', `${m.layers} layers x ${m.heads} heads x ${m.headDim} dims`], ['rounds averaged', a.sums.count],
    ['head origin', p.heads], ['locator', a.locator?.kind ?? (a.heads ? 'reinforce' : 'none')],
    ['chosen heads', m.chosen ? `${chosen.length} of ${m.layers * m.heads}` : 'none (run mtv locate)'],
  ];
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>MTV artifact report: ${esc(file)}</title>
<style>
body { font: 14px/1.45 system-ui, "DejaVu Sans", sans-serif; color: #1d2330; margin: 24px; }
table { border-collapse: collapse; margin: 8px 0 20px; } th, td { text-align: left; padding: 3px 10px; border-bottom: 1px solid #dde1e8; }
th { color: #6b7385; font-size: 12px; } h1 { font-size: 20px; } h2 { font-size: 16px; margin-top: 24px; } figure { margin: 0; overflow-x: auto; }
</style></head>
<body>
<h1>MTV artifact report</h1>
<table id="provenance">${facts.map(([k, v]) => `<tr><th>${esc(k)}</th><td>${esc(String(v))}</td></tr>`).join('')}</table>
<h2>Heads: layer × head</h2>
<figure id="heatmaps">${heatmapSvg(m)}</figure>
<h2>Runs</h2>
<table id="runs">${row(['dataset', 'seed', 'rounds', 'shots', 'shard size'], 'th')}${p.runs.map((r) => row([r.datasetHash.slice(0, 16), String(r.seed), `[${r.firstRound}, ${r.firstRound + r.rounds})`, r.shots, r.shardSize])).join('')}</table>
${p.notes ? `<h2>Notes</h2><table id="notes">${Object.entries(p.notes).map(([k, v]) => row([k, String(v)])).join('')}</table>` : ''}
<h2>Chosen heads</h2>
${chosen.length ? `<table id="chosen">${row(['layer', 'head', 'p', '||mu||'], 'th')}${chosen.join('')}</table>` : '<p>none</p>'}
</body></html>
`;
}
