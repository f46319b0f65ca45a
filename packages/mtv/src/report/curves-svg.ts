// `mtv eval --plot`: accuracy against the number of shots, MTV (shots compressed into the means) and ICL
// (shots in the prompt) on one log-x chart, 95% intervals as error bars, zero-shot as a dashed
// horizontal reference and the context limit (the most shots whose prompts fit) as a vertical line.
// x is log2(shots) on a value axis. Drawn by ECharts' server-side SVG renderer, rasterised by svgToPng like the inspect heatmaps.
import * as echarts from 'echarts';

export interface CurvePoint {
  /** Shots: compressed (MTV) or in context (ICL); > 0 (a log axis). */
  readonly x: number;
  /** In [0, 1], as the summaries. */
  readonly accuracy: number;
  readonly lower: number;
  readonly upper: number;
}

export interface CurvesInput {
  readonly title?: string;
  readonly mtv: readonly CurvePoint[];
  readonly icl: readonly CurvePoint[];
  /** The zero-shot accuracy (drawn as a dashed horizontal line), or null. */
  readonly zeroShot: CurvePoint | null;
  /** The most shots that fit the context (vertical line), or null. */
  readonly contextShots: number | null;
  /** Context positions, named in the line's label. */
  readonly contextPositions?: number;
}

export const MTV_LABEL = 'MTV (shots compressed)';
export const ICL_LABEL = 'ICL (shots in context)';
const COLORS = { mtv: '#c0392b', icl: '#2471a3', zero: '#7f8c8d', context: '#34495e' } as const;

export const CURVES_WIDTH = 760;
export const CURVES_HEIGHT = 460;

const pct = (x: number): number => Math.round(1000 * x) / 10;

/** Error bars: one two-point line per point (robust in server-side rendering; no custom series). */
function errorBars(points: readonly CurvePoint[], color: string): object[] {
  return points.map((p) => ({
    type: 'line', data: [[Math.log2(p.x), pct(p.lower)], [Math.log2(p.x), pct(p.upper)]], symbol: 'none', silent: true,
    lineStyle: { color, width: 1.5, opacity: 0.7 }, z: 1,
  }));
}

/** The SVG document (a string) of the shot curves. */
export function curvesSvg(c: CurvesInput): string {
  const xs = [...c.mtv, ...c.icl].map((p) => p.x).concat(c.contextShots !== null && c.contextShots > 0 ? [c.contextShots] : []);
  for (const x of xs) if (!(x > 0)) throw new Error(`curves: x must be positive on a log axis, got ${x}`);
  const lo = xs.length > 0 ? 2 ** Math.floor(Math.log2(Math.min(...xs))) : 1;
  const hi = xs.length > 0 ? 2 ** Math.ceil(Math.log2(Math.max(...xs) * 1.05)) : 2;
  const chart = echarts.init(null, null, { renderer: 'svg', ssr: true, width: CURVES_WIDTH, height: CURVES_HEIGHT });
  const marks: object[] = [];
  if (c.zeroShot) {
    marks.push({ yAxis: pct(c.zeroShot.accuracy), lineStyle: { type: 'dashed', color: COLORS.zero, width: 1.5 }, label: { formatter: `zero-shot ${pct(c.zeroShot.accuracy).toFixed(1)}%`, position: 'insideEndTop', color: COLORS.zero } });
  }
  if (c.contextShots !== null && c.contextShots > 0) {
    const ctx = c.contextPositions !== undefined ? ` (${c.contextPositions} positions)` : '';
    marks.push({ xAxis: Math.log2(c.contextShots), lineStyle: { type: 'solid', color: COLORS.context, width: 1.5 }, label: { formatter: `context limit: ${c.contextShots} shots${ctx}`, position: 'insideEndBottom', color: COLORS.context } });
  }
  const main = (name: string, pts: readonly CurvePoint[], color: string, symbol: string): object => ({
    name, type: 'line', data: pts.map((p) => [Math.log2(p.x), pct(p.accuracy)]), symbol, symbolSize: 8, z: 3,
    lineStyle: { color, width: 2.5 }, itemStyle: { color },
  });
  chart.setOption({
    animation: false,
    backgroundColor: '#ffffff',
    textStyle: { fontFamily: 'DejaVu Sans, sans-serif' },
    title: { text: c.title ?? 'accuracy against shots', left: 'center', top: 8, textStyle: { fontSize: 15 } },
    legend: { data: [MTV_LABEL, ICL_LABEL], top: 34, itemGap: 28 },
    grid: { left: 64, right: 28, top: 72, bottom: 64 },
    // log2(shots) on a value axis, labelled 2^k: ECharts' own log axis drops most tick labels.
    xAxis: {
      type: 'value', min: Math.log2(lo), max: Math.log2(hi), interval: Math.log2(hi / lo) > 12 ? 2 : 1, name: 'shots (log scale)', nameLocation: 'middle', nameGap: 30,
      axisLabel: { fontSize: 10, formatter: (v: number) => String(2 ** v) }, splitLine: { show: true, lineStyle: { color: '#eef0f4' } },
    },
    yAxis: { type: 'value', min: 0, max: 100, name: 'accuracy (%)', nameLocation: 'middle', nameGap: 42, splitLine: { lineStyle: { color: '#eef0f4' } } },
    series: [
      main(MTV_LABEL, c.mtv, COLORS.mtv, 'circle'),
      main(ICL_LABEL, c.icl, COLORS.icl, 'rect'),
      ...errorBars(c.mtv, COLORS.mtv),
      ...errorBars(c.icl, COLORS.icl),
      // The reference lines live on a series of their own, present even when a curve is empty.
      { name: 'references', type: 'line', data: [], markLine: { symbol: 'none', silent: true, data: marks } },
    ],
  });
  const svg = chart.renderToSVGString();
  chart.dispose();
  return svg;
}
