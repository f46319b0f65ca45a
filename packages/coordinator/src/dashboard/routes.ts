// The coordinator's plain-HTTP side (the WebSocket upgrade is handled by ws before this): the
// dashboard page and its assets, the event stream, a JSON snapshot, and Prometheus /metrics.
// Read-only: GET and HEAD only. Order of checks: a malformed request (400/414), then the token (401,
// the same bare answer for every path, so nothing about the job or the routes leaks), then the
// method (405), then the route (404). A handler error answers 500 and never reaches the workers' side.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../net/logger.js';
import type { FleetMetrics } from '../metrics/index.js';
import { asset, isAssetPath } from './assets.js';
import { authorize, tokenCookie } from './auth.js';
import type { EventStream } from './event-stream.js';
import type { DashboardState } from './state.js';

export const MAX_URL_CHARS = 4096;

export interface RoutesOptions {
  /** Required on every request when set (the coordinator is bound beyond loopback). */
  readonly token: string | undefined;
  /** null: the dashboard is off (only /metrics is served). */
  readonly dashboard: { readonly state: DashboardState; readonly stream: EventStream } | null;
  readonly metrics: FleetMetrics;
  readonly logger: Logger;
}

const SECURITY_HEADERS = {
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  // ECharts sets inline styles; every script and style file comes from this server.
  'content-security-policy': "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; frame-ancestors 'none'",
} as const;

function plain(res: ServerResponse, status: number, text: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store', ...SECURITY_HEADERS, ...headers }).end(`${text}\n`);
}

export function dashboardRoutes(opts: RoutesOptions): (req: IncomingMessage, res: ServerResponse) => void {
  const { metrics } = opts;
  const answer = async (req: IncomingMessage, res: ServerResponse): Promise<number> => {
    const raw = req.url ?? '';
    if (raw.length > MAX_URL_CHARS) return plain(res, 414, 'URI too long'), 414;
    let url: URL;
    try {
      if (!raw.startsWith('/')) throw new Error('not an origin-form request target');
      url = new URL(raw, 'http://coordinator.invalid');
    } catch {
      return plain(res, 400, 'bad request'), 400;
    }
    const auth = authorize(req, url, opts.token);
    if (!auth.ok) return plain(res, 401, 'unauthorized', { 'www-authenticate': 'Bearer' }), 401;
    if (req.method !== 'GET' && req.method !== 'HEAD') return plain(res, 405, 'method not allowed (the dashboard is read-only)', { allow: 'GET, HEAD' }), 405;
    const head = req.method === 'HEAD';
    const path = url.pathname;
    if (path === '/metrics') {
      const m = await metrics.render();
      res.writeHead(200, { 'content-type': m.contentType, 'cache-control': 'no-store', ...SECURITY_HEADERS });
      res.end(head ? undefined : m.body);
      return 200;
    }
    const d = opts.dashboard;
    if (!d) return plain(res, 404, 'not found (the dashboard is off; /metrics is served)'), 404;
    if (auth.setCookie && path === '/') {
      // The token leaves the address bar: the cookie carries it from now on.
      res.writeHead(303, { location: '/', 'set-cookie': tokenCookie(opts.token!), 'cache-control': 'no-store', ...SECURITY_HEADERS }).end();
      return 303;
    }
    if (path === '/events') {
      if (head) return plain(res, 200, ''), 200;
      if (!d.stream.add(res)) return plain(res, 503, 'too many dashboard clients', { 'retry-after': '5' }), 503;
      return 200;
    }
    if (path === '/favicon.ico') return res.writeHead(204, SECURITY_HEADERS).end(), 204;
    if (path === '/api/state') {
      res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', ...SECURITY_HEADERS });
      res.end(head ? undefined : JSON.stringify(d.state.snapshot()));
      return 200;
    }
    if (isAssetPath(path)) {
      const a = await asset(path);
      res.writeHead(200, { 'content-type': a.type, 'content-length': a.body.length, 'cache-control': 'no-cache', ...SECURITY_HEADERS });
      res.end(head ? undefined : a.body);
      return 200;
    }
    return plain(res, 404, 'not found'), 404;
  };
  return (req, res) => {
    answer(req, res).then(
      (status) => metrics.onHttp(status),
      (e: unknown) => {
        opts.logger.warn(`coordinator: dashboard request ${req.method ?? '?'} ${(req.url ?? '').slice(0, 200)} failed: ${e instanceof Error ? e.message : String(e)}`);
        metrics.onHttp(500);
        if (!res.headersSent) plain(res, 500, 'internal error');
        else res.destroy();
      },
    );
  };
}
