export { headMaps, type HeadMaps } from './head-maps.js';
export { heatmapSvg, reportPanels, type HeatmapSvgOptions } from './heatmap-svg.js';
export { htmlReport } from './html-report.js';
export { svgToPng } from './png.js';
export { curvesSvg, CURVES_WIDTH, CURVES_HEIGHT, MTV_LABEL, ICL_LABEL, type CurvePoint, type CurvesInput } from './curves-svg.js';
