// The report's figure: up to three layer x head heatmaps side by side (chosen heads, Bernoulli
// probabilities, per-head mean norms), drawn by ECharts' server-side SVG renderer (no browser, no DOM),
// so the HTML report embeds it and the PNG is rasterised from the same SVG.
import * as echarts from 'echarts';
import type { HeadMaps } from './head-maps.js';

interface Panel {
  readonly title: string;
  readonly values: Float64Array;
  readonly min: number;
  readonly max: number;
  readonly colors: readonly string[];
  readonly binary: boolean;
}

export function reportPanels(m: HeadMaps): Panel[] {
  const panels: Panel[] = [];
  if (m.chosen) panels.push({ title: `chosen heads (${m.chosen.reduce((a, b) => a + b, 0)} of ${m.chosen.length})`, values: m.chosen, min: 0, max: 1, colors: ['#eef0f4', '#c0392b'], binary: true });
  if (m.probabilities) panels.push({ title: 'Bernoulli probability p = sigmoid(logit)', values: m.probabilities, min: 0, max: 1, colors: ['#f7fbff', '#6baed6', '#08306b'], binary: false });
  let hi = 0;
  for (const x of m.meanNorms) hi = Math.max(hi, x);
  panels.push({ title: 'mean activation norm ||mu[l, h]||', values: m.meanNorms, min: 0, max: hi > 0 ? hi : 1, colors: ['#fff7ec', '#fc8d59', '#7f0000'], binary: false });
  return panels;
}

export interface HeatmapSvgOptions {
  /** Title above the panels. */
  readonly title?: string;
  /** Pixel width of one panel (default: from the head count). */
  readonly panelWidth?: number;
}

/** The SVG document (a string) of the report's heatmaps. */
export function heatmapSvg(m: HeadMaps, opts: HeatmapSvgOptions = {}): string {
  const panels = reportPanels(m);
  const cell = Math.max(8, Math.min(28, Math.floor(560 / Math.max(m.heads, m.layers))));
  const panelW = opts.panelWidth ?? Math.max(260, m.heads * cell + 90);
  const plotH = m.layers * cell;
  const top = opts.title ? 64 : 40;
  const width = panels.length * panelW;
  const height = top + plotH + 110;
  const chart = echarts.init(null, null, { renderer: 'svg', ssr: true, width, height });
  const heads = Array.from({ length: m.heads }, (_, h) => String(h));
  const layers = Array.from({ length: m.layers }, (_, l) => String(l));
  const fmt = (v: number): string => (Number.isInteger(v) ? String(v) : v.toPrecision(3));
  chart.setOption({
    animation: false,
    backgroundColor: '#ffffff',
    textStyle: { fontFamily: 'DejaVu Sans, sans-serif' },
    title: [
      ...(opts.title ? [{ text: opts.title, left: 'center', top: 8, textStyle: { fontSize: 15 } }] : []),
      ...panels.map((p, i) => ({ text: p.title, left: i * panelW + panelW / 2, top: top - 30, textAlign: 'center', textStyle: { fontSize: 12 } })),
    ],
    grid: panels.map((_, i) => ({ left: i * panelW + 56, width: m.heads * cell, top, height: plotH })),
    xAxis: panels.map((_, i) => ({ type: 'category', gridIndex: i, data: heads, name: 'head', nameLocation: 'middle', nameGap: 22, axisTick: { show: false }, axisLabel: { interval: m.heads > 16 ? 3 : 0, fontSize: 10 } })),
    yAxis: panels.map((_, i) => ({ type: 'category', gridIndex: i, data: layers, inverse: true, name: 'layer', nameLocation: 'middle', nameGap: 30, axisTick: { show: false }, axisLabel: { interval: m.layers > 16 ? 3 : 0, fontSize: 10 } })),
    visualMap: panels.map((p, i) =>
      p.binary
        ? { type: 'piecewise', seriesIndex: i, orient: 'horizontal', left: i * panelW + 56, top: top + plotH + 40, itemWidth: 14, pieces: [{ value: 1, label: 'chosen', color: p.colors[1] }, { value: 0, label: 'not chosen', color: p.colors[0] }] }
        : { type: 'continuous', seriesIndex: i, min: p.min, max: p.max, orient: 'horizontal', left: i * panelW + 56, top: top + plotH + 40, itemWidth: 12, itemHeight: Math.min(160, panelW - 120), text: [fmt(p.max), fmt(p.min)], inRange: { color: [...p.colors] }, calculable: false },
    ),
    series: panels.map((p, i) => ({
      type: 'heatmap', xAxisIndex: i, yAxisIndex: i,
      data: Array.from(p.values, (v, k) => [k % m.heads, Math.floor(k / m.heads), v]),
      itemStyle: { borderColor: '#ffffff', borderWidth: cell >= 12 ? 1 : 0 },
    })),
  });
  const svg = chart.renderToSVGString();
  chart.dispose();
  return svg;
}
