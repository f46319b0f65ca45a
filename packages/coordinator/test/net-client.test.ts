// WorkerConnection against real servers on loopback: backoff, reconnect after a coordinator restart,
// dead-coordinator detection, and wss:// through a TLS-terminating proxy.
import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer as createTlsServer } from 'node:tls';
import { WebSocketServer } from 'ws';
import {
  CloseCode,
  CoordinatorServer,
  DEFAULT_BACKOFF,
  backoffDelay,
  decodeMessage,
  encodeMessage,
  resolveBackoff,
  silentLogger,
  WorkerConnection,
  type WorkerConnectionOptions,
} from '../src/index.js';
import { TOKEN, cleanupAfterEach, cpuCapabilities } from './net-fixture.js';

const capabilities = cpuCapabilities(['rollouts']);
const cleanup = cleanupAfterEach();

async function startServer(port = 0) {
  const server = new CoordinatorServer({ token: TOKEN, port, logger: silentLogger });
  const addr = await server.start();
  cleanup.push(() => server.close());
  return { server, port: addr.port };
}

function worker(opts: Partial<WorkerConnectionOptions> & { url: string }) {
  const w = new WorkerConnection({ token: TOKEN, workerId: 'w', capabilities, logger: silentLogger, ...opts });
  cleanup.push(() => w.close());
  return w;
}

/** A plain ws server on a loopback port (no protocol), closed after the test. */
async function bareServer(): Promise<WebSocketServer> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  cleanup.push(() => new Promise<void>((r) => { for (const c of wss.clients) c.terminate(); wss.close(() => r()); }));
  await new Promise((r) => wss.once('listening', r));
  return wss;
}

describe('backoff', () => {
  it('grows exponentially to the cap, jittered downwards by at most the jitter fraction', () => {
    const b = resolveBackoff({ initialMs: 100, maxMs: 1000, factor: 2, jitter: 0.5 });
    expect([1, 2, 3, 4, 5, 9].map((a) => backoffDelay(a, b, () => 0))).toEqual([100, 200, 400, 800, 1000, 1000]);
    expect([1, 2, 5].map((a) => backoffDelay(a, b, () => 1))).toEqual([50, 100, 500]);
    expect(backoffDelay(3, resolveBackoff({ initialMs: 100, jitter: 0 }), Math.random)).toBe(400);
    expect(resolveBackoff()).toEqual(DEFAULT_BACKOFF);
  });

  it('rejects nonsensical settings', () => {
    expect(() => resolveBackoff({ jitter: 2 })).toThrow(/jitter 2 must be in \[0, 1\]/);
    expect(() => resolveBackoff({ factor: 0.5 })).toThrow(/factor 0.5/);
    expect(() => resolveBackoff({ initialMs: 10, maxMs: 5 })).toThrow(/initialMs \(10\) <= maxMs \(5\)/);
  });
});

describe('WorkerConnection', () => {
  it('accepts only ws:// and wss:// URLs', () => {
    expect(() => new WorkerConnection({ url: 'http://127.0.0.1:1', workerId: 'w', capabilities })).toThrow(/must start with ws:\/\/ or wss:\/\//);
    expect(new WorkerConnection({ url: 'wss://fleet.example.org/mtv', workerId: 'w', capabilities, logger: silentLogger }).url.protocol).toBe('wss:');
  });

  it('refuses to send before it is connected', async () => {
    const w = worker({ url: 'ws://127.0.0.1:9' });
    await expect(w.send({ type: 'progress', jobId: 'j', shardId: 0, done: 0, total: 1 })).rejects.toThrow(/not connected \(state idle\)/);
  });

  it('reconnects with backoff after the coordinator restarts on the same port', async () => {
    const first = await startServer();
    const w = worker({ url: `ws://127.0.0.1:${first.port}`, backoff: { initialMs: 20, maxMs: 80, factor: 2, jitter: 0.5 }, random: () => 0.5 });
    const welcome1 = await w.start().ready();
    expect(welcome1.sessionId).toBe(first.server.sessionId);

    const attempts: { attempt: number; delayMs: number }[] = [];
    w.on('reconnecting', (a) => attempts.push(a));
    const shutdown = w.next('shutdown');
    await first.server.close({ reason: 'restarting', reconnect: true });
    expect((await shutdown)[0].reconnect).toBe(true);
    // Let a few attempts fail against the closed port before the coordinator comes back.
    while (attempts.length < 3) await w.next('reconnecting');
    const second = await startServer(first.port);
    const [welcome2] = await w.next('welcome');
    expect(welcome2.sessionId).toBe(second.server.sessionId);
    expect(welcome2.sessionId).not.toBe(welcome1.sessionId);
    expect(w.state).toBe('ready');
    // Delays follow min(80, 20 * 2^(attempt-1)) * (1 - 0.5 * 0.5).
    for (const a of attempts) expect(a.delayMs).toBeCloseTo(Math.min(80, 20 * 2 ** (a.attempt - 1)) * 0.75, 9);
    expect(attempts.map((a) => a.attempt)).toEqual(attempts.map((_, i) => i + 1));
    // The new session works, and a later drop starts counting attempts from 1 again.
    const got = second.server.next('progress');
    await w.send({ type: 'progress', jobId: 'j', shardId: 0, done: 1, total: 1 });
    expect((await got)[1].id).toBe('w');
    const again = w.next('reconnecting');
    second.server.disconnect('w', 1000, 'test');
    expect((await again)[0].attempt).toBe(1);
  });

  it('gives up after maxAttempts', async () => {
    const { port, server } = await startServer();
    await server.close();
    const w = worker({ url: `ws://127.0.0.1:${port}`, backoff: { initialMs: 1, maxMs: 2, maxAttempts: 2 } });
    const stopped = w.next('stopped');
    w.start();
    expect((await stopped)[0].reason).toMatch(/gave up after 2 attempts/);
  });

  it('drops a coordinator that stops sending heartbeats and reconnects', async () => {
    // A bare ws server that welcomes with a 20 ms heartbeat and then never pings.
    const wss = await bareServer();
    let connections = 0;
    wss.on('connection', (ws) => {
      connections++;
      ws.on('message', (d) => {
        if (decodeMessage(d as Buffer, { from: 'worker' }).type !== 'hello') return;
        ws.send(encodeMessage({ type: 'welcome', peerId: 'w', sessionId: `s${connections}`, heartbeatMs: 20, heartbeatMisses: 2, maxPayload: 1 << 20, t: Date.now() }));
      });
    });
    const w = worker({ url: `ws://127.0.0.1:${(wss.address() as AddressInfo).port}`, backoff: { initialMs: 5, maxMs: 5 } });
    await w.start().ready();
    const [disc] = await w.next('disconnected');
    expect(disc).toEqual({ code: CloseCode.heartbeatTimeout, reason: 'no heartbeat from the coordinator within 60 ms' });
    const [welcome] = await w.next('welcome');
    expect(welcome.sessionId).toBe('s2');
  });

  it('drops a coordinator that sends garbage or oversized frames, then retries', async () => {
    const wss = await bareServer();
    let n = 0;
    wss.on('connection', (ws) => {
      n++;
      ws.on('message', () => {
        if (n === 1) ws.send(Buffer.from('not msgpack at all'));
        else ws.send(encodeMessage({ type: 'shutdown', reason: 'x'.repeat(2000), reconnect: true })); // over the 1 KiB limit
      });
    });
    const w = worker({ url: `ws://127.0.0.1:${(wss.address() as AddressInfo).port}`, maxPayload: 1024, backoff: { initialMs: 1, maxMs: 1 } });
    const codes: number[] = [];
    w.on('disconnected', (d) => codes.push(d.code));
    w.start();
    while (codes.length < 2) await w.next('disconnected');
    expect(codes.slice(0, 2)).toEqual([4000, 1009]);
    expect(w.state === 'backoff' || w.state === 'connecting').toBe(true);
  });

  it('connects over wss:// through a TLS-terminating proxy', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mtv-tls-'));
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
    const key = join(dir, 'key.pem');
    const cert = join(dir, 'cert.pem');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1'], { stdio: 'ignore' });
    const { server, port } = await startServer();
    // The proxy: terminate TLS, pipe plaintext to the coordinator on loopback (what nginx/caddy do).
    const proxy = createTlsServer({ key: readFileSync(key), cert: readFileSync(cert) }, (tls) => {
      const up = connect(port, '127.0.0.1');
      tls.pipe(up).pipe(tls);
      tls.on('error', () => up.destroy());
      up.on('error', () => tls.destroy());
    });
    await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
    cleanup.push(() => new Promise<void>((r) => proxy.close(() => r())));
    const proxyPort = (proxy.address() as AddressInfo).port;

    const w = worker({ url: `wss://localhost:${proxyPort}`, tls: { ca: readFileSync(cert) } });
    await w.start().ready();
    const got = server.next('progress');
    await w.send({ type: 'progress', jobId: 'j', shardId: 2, done: 0, total: 1 });
    expect((await got)[0].shardId).toBe(2);
    await w.close();

    // Without the CA the certificate is refused and nothing reaches the coordinator.
    const untrusted = worker({ url: `wss://localhost:${proxyPort}`, workerId: 'u', backoff: { initialMs: 1, maxAttempts: 1 } });
    const stopped = untrusted.next('stopped');
    untrusted.start();
    expect((await stopped)[0].reason).toMatch(/gave up after 1 attempts/);
    expect(server.peers().map((p) => p.id)).toEqual([]);
  });
});
