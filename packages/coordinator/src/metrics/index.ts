export { FleetMetrics, METRIC_NAMES } from './fleet-metrics.js';
