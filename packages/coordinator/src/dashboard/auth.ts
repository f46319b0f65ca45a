// Who may read the dashboard and /metrics. On loopback: anyone on this machine. Bound beyond loopback:
// only holders of the coordinator's token, given as `Authorization: Bearer <token>` (Prometheus),
// `?token=<token>` (a browser's first visit; answered with an HttpOnly cookie so the page's assets
// and its event stream carry it) or that cookie. Compared in constant time.
import type { IncomingMessage } from 'node:http';
import { tokenMatches } from '../net/security.js';

export const TOKEN_COOKIE = 'mtv_dashboard_token';

export type AuthResult = { readonly ok: true; readonly setCookie: boolean } | { readonly ok: false };

function cookieToken(req: IncomingMessage): string | null {
  const header = req.headers.cookie;
  if (!header) return null;
  for (const part of header.split(';')) {
    const i = part.indexOf('=');
    if (i > 0 && part.slice(0, i).trim() === TOKEN_COOKIE) {
      try {
        return decodeURIComponent(part.slice(i + 1).trim());
      } catch {
        return null;
      }
    }
  }
  return null;
}

/** `token` undefined: no check (loopback). */
export function authorize(req: IncomingMessage, url: URL, token: string | undefined): AuthResult {
  if (token === undefined) return { ok: true, setCookie: false };
  const auth = req.headers.authorization;
  if (auth?.startsWith('Bearer ') && tokenMatches(token, auth.slice(7).trim())) return { ok: true, setCookie: false };
  const q = url.searchParams.get('token');
  if (q !== null && tokenMatches(token, q)) return { ok: true, setCookie: true };
  const c = cookieToken(req);
  if (c !== null && tokenMatches(token, c)) return { ok: true, setCookie: false };
  return { ok: false };
}

export function tokenCookie(token: string): string {
  return `${TOKEN_COOKIE}=${encodeURIComponent(token)}; HttpOnly; SameSite=Strict; Path=/`;
}
