import { createHash, timingSafeEqual } from 'node:crypto';
import { isIP } from 'node:net';

/** Shortest token accepted: a guessable token on a reachable port is an open door to every worker. */
export const MIN_TOKEN_CHARS = 16;

/** True for addresses only this machine can reach: 127.0.0.0/8, ::1, ::ffff:127.x, 'localhost'. */
export function isLoopbackHost(host: string): boolean {
  const h = host.trim().toLowerCase().replace(/^\[(.*)\]$/, '$1');
  if (h === 'localhost') return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  if (isIP(h) === 6) return h === '::1' || /^(0{0,4}:){5}ffff:127\./.test(h) || /^::ffff:127\./.test(h);
  return false;
}

/** Throws when a server configuration would expose an unauthenticated or weakly authenticated port. */
export function checkBindSecurity(host: string, token: string | undefined): void {
  if (token !== undefined && token.length < MIN_TOKEN_CHARS) {
    throw new Error(`CoordinatorServer: token is ${token.length} characters; use at least ${MIN_TOKEN_CHARS} (e.g. \`openssl rand -hex 32\`)`);
  }
  if (!isLoopbackHost(host) && token === undefined) {
    throw new Error(
      `CoordinatorServer: refusing to listen on '${host}' without a token: any machine that reaches this port could ` +
        `join the fleet. Set the token option (workers send it in 'hello'), or bind to 127.0.0.1.`,
    );
  }
}

const digest = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest();

/** Constant-time token check: both sides are hashed to equal-length digests first, so length leaks nothing. */
export function tokenMatches(expected: string, got: string): boolean {
  return timingSafeEqual(digest(expected), digest(got));
}
