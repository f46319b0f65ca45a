export { DashboardState, type DashboardSnapshot, type JobView, type WorkerView, type ResultRow, type JobStatus, type PhaseProgress } from './state.js';
export { EventStream, MAX_STREAM_CLIENTS } from './event-stream.js';
export { dashboardRoutes, MAX_URL_CHARS, type RoutesOptions } from './routes.js';
export { authorize, tokenCookie, TOKEN_COOKIE } from './auth.js';
export { CurvesWriter, loadCurves, CURVES_FILE, type Curves } from './curve-history.js';
