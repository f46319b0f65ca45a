// CoordinatorServer against real ws clients on loopback: every misbehaving connection is closed alone,
// with a code and a logged reason, while a well-behaved worker on the same server keeps working.
import { describe, expect, it } from 'vitest';
import { Packr } from 'msgpackr';
import { WebSocket } from 'ws';
import {
  CloseCode,
  CoordinatorServer,
  PROTOCOL_VERSION,
  WorkerConnection,
  checkBindSecurity,
  decodeMessage,
  encodeMessage,
  isLoopbackHost,
  tokenMatches,
  type CoordinatorServerOptions,
  type Message,
} from '../src/index.js';
import { capture } from './fleet-fakes.js';
import { TOKEN, cleanupAfterEach, cpuCapabilities } from './net-fixture.js';

const capabilities = cpuCapabilities(['extract', 'rollouts', 'eval']);
const raw = new Packr({ moreTypes: true, useRecords: false });
const hello = (workerId: string, token = TOKEN) => ({ type: 'hello', token, workerId, name: workerId, capabilities });

const cleanup = cleanupAfterEach();

async function startServer(opts: CoordinatorServerOptions = {}) {
  const log = capture();
  const server = new CoordinatorServer({ token: TOKEN, logger: log, ...opts });
  const { port } = await server.start();
  cleanup.push(() => server.close());
  return { server, port, log };
}

/** A well-behaved worker; resolves once welcomed. */
async function goodWorker(port: number, workerId = 'good') {
  const w = new WorkerConnection({ url: `ws://127.0.0.1:${port}`, token: TOKEN, workerId, capabilities, logger: capture(), backoff: { initialMs: 10, maxMs: 50 } }).start();
  cleanup.push(() => w.close());
  await w.ready();
  return w;
}

/** The good worker still works both ways: a progress reaches the server, a cancel reaches the worker. */
async function stillWorks(server: CoordinatorServer, w: WorkerConnection, workerId = 'good'): Promise<void> {
  expect(w.state).toBe('ready');
  const got = server.next('progress');
  await w.send({ type: 'progress', jobId: 'j', shardId: 1, done: 1, total: 2 });
  const [msg, peer] = await got;
  expect([msg.done, peer.id]).toEqual([1, workerId]);
  const cancel = w.next('cancel');
  await server.send(workerId, { type: 'cancel', jobId: 'j', shardId: 1, reason: 'test' });
  expect((await cancel)[0].shardId).toBe(1);
}

/** A hand-driven client that can send anything; records decoded frames and the close. */
async function rawClient(port: number) {
  const ws = new WebSocket(`ws://127.0.0.1:${port}`);
  const frames: Message[] = [];
  ws.on('message', (d) => frames.push(decodeMessage(d as Buffer)));
  const closed = new Promise<{ code: number; reason: string }>((resolve) => ws.on('close', (code, r) => resolve({ code, reason: r.toString() })));
  ws.on('error', () => {});
  await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
  cleanup.push(() => ws.terminate());
  const send = (o: unknown) => ws.send(o instanceof Uint8Array ? o : raw.pack(o));
  return { ws, frames, closed, send, sendMsg: (o: Record<string, unknown>) => send({ v: PROTOCOL_VERSION, ...o }) };
}

describe('binding and tokens', () => {
  it('refuses to listen beyond loopback without a token, or with a short one', () => {
    for (const host of ['0.0.0.0', '::', '192.168.1.10', 'example.org']) {
      expect(() => new CoordinatorServer({ host })).toThrow(new RegExp(`refusing to listen on '${host.replace(/\./g, '\\.')}' without a token`));
    }
    expect(() => new CoordinatorServer({ host: '0.0.0.0', token: 'short' })).toThrow(/token is 5 characters; use at least 16/);
    expect(() => checkBindSecurity('127.0.0.1', undefined)).not.toThrow();
    expect(() => checkBindSecurity('::1', undefined)).not.toThrow();
  });

  it('listens on 0.0.0.0 when a token is set', async () => {
    const { server, port } = await startServer({ host: '0.0.0.0' });
    expect(server.address.host).toBe('0.0.0.0');
    await goodWorker(port);
  });

  it('classifies loopback hosts', () => {
    for (const h of ['127.0.0.1', '127.1.2.3', '::1', '[::1]', 'localhost', '::ffff:127.0.0.1']) expect(isLoopbackHost(h), h).toBe(true);
    for (const h of ['0.0.0.0', '::', '10.0.0.1', '::ffff:10.0.0.1', 'localhost.evil.com', '']) expect(isLoopbackHost(h), h).toBe(false);
  });

  it('compares tokens by equal-length digests', () => {
    expect(tokenMatches(TOKEN, TOKEN)).toBe(true);
    expect(tokenMatches(TOKEN, TOKEN.slice(1))).toBe(false); // different length: no throw from timingSafeEqual
    expect(tokenMatches(TOKEN, '')).toBe(false);
  });
});

describe('misbehaving connections are closed alone', () => {
  it('wrong token: reject with reason, close 4001, the worker stops, others keep working', async () => {
    const { server, port, log } = await startServer();
    const good = await goodWorker(port);
    const bad = new WorkerConnection({ url: `ws://127.0.0.1:${port}`, token: 'wrong-token-wrong-token', workerId: 'bad', capabilities, logger: capture(), backoff: { initialMs: 10 } });
    cleanup.push(() => bad.close());
    const reject = bad.next('reject');
    const stopped = bad.next('stopped');
    const closed = server.next('connection-closed');
    bad.start();
    expect((await reject)[0]).toMatchObject({ type: 'reject', reason: 'bad-token' });
    expect((await stopped)[0].reason).toMatch(/bad-token/);
    await expect(bad.ready()).rejects.toThrow(/stopped .*bad-token/);
    const [info] = await closed;
    expect(info).toMatchObject({ peerId: null, code: CloseCode.badToken });
    expect(log.lines.some((l) => l.includes('(4001)') && l.includes("worker 'bad' presented a wrong token"))).toBe(true);
    expect(server.peers().map((p) => p.id)).toEqual(['good']);
    await stillWorks(server, good);
  });

  it('version mismatch: reject readable by the other version, close 4002', async () => {
    const { server, port } = await startServer();
    const good = await goodWorker(port);
    const c = await rawClient(port);
    c.send({ v: PROTOCOL_VERSION + 1, ...hello('future') });
    const { code, reason } = await c.closed;
    expect(code).toBe(CloseCode.versionMismatch);
    expect(reason).toMatch(/protocol version 2/);
    expect(c.frames).toEqual([{ type: 'reject', reason: 'version-mismatch', message: expect.stringMatching(/speaks version 1/) }]);
    await stillWorks(server, good);
  });

  it('oversized frame: that connection closes with 1009, the other worker keeps working', async () => {
    const { server, port, log } = await startServer({ maxPayload: 64 * 1024 });
    const good = await goodWorker(port);
    const big = await goodWorker(port, 'big');
    const lost = server.next('peer-lost');
    const dropped = big.next('disconnected');
    // 96 KiB of losses: valid message, frame over the 64 KiB maxPayload.
    await big.send({ type: 'result', result: { kind: 'rollouts', jobId: 'j', shardId: 0, elapsedMs: 0, step: 0, nQueries: 1, nMasks: 12_288, losses: new Float64Array(12_288) } });
    expect((await dropped)[0].code).toBe(CloseCode.tooLarge);
    expect((await lost)).toEqual(['big', { reason: 'protocol-error', code: CloseCode.tooLarge, detail: expect.stringMatching(/Max payload size exceeded/) }]);
    expect(log.lines.some((l) => l.includes("worker 'big'") && l.includes('Max payload size exceeded'))).toBe(true);
    await stillWorks(server, good);
  });

  it('a pre-hello frame over 64 KiB is refused even under maxPayload', async () => {
    const { port } = await startServer();
    const c = await rawClient(port);
    c.sendMsg({ ...hello('x'), name: 'n'.repeat(70_000) });
    const { code, reason } = await c.closed;
    expect(code).toBe(CloseCode.tooLarge);
    expect(reason).toMatch(/exceeds the limit of 65536 bytes/);
  });

  it('garbage bytes: close 4000 naming msgpack, the other worker keeps working', async () => {
    const { server, port } = await startServer();
    const good = await goodWorker(port);
    for (const when of ['before hello', 'after hello']) {
      const c = await rawClient(port);
      if (when === 'after hello') {
        c.sendMsg(hello(`raw-${c.ws.url.length}`));
        await server.next('peer');
      }
      c.send(Buffer.from('\x93GET /etc/passwd HTTP/1.1 garbage'));
      const { code, reason } = await c.closed;
      expect([when, code]).toEqual([when, CloseCode.protocolError]);
      expect(reason).toMatch(/not msgpack/);
    }
    await stillWorks(server, good);
  });

  it('schema violation: close 4000 with the path in the reason', async () => {
    const { server, port, log } = await startServer();
    const good = await goodWorker(port);
    const c1 = await rawClient(port);
    c1.sendMsg({ ...hello('x'), capabilities: { ...capabilities, threads: 0 } });
    expect(await c1.closed).toEqual({ code: CloseCode.protocolError, reason: expect.stringContaining('capabilities.threads') });

    const c2 = await rawClient(port);
    c2.sendMsg(hello('raw-2'));
    await server.next('peer');
    c2.sendMsg({ type: 'result', result: { kind: 'rollouts', jobId: 'j', shardId: 0, elapsedMs: 0, step: 0, nQueries: 2, nMasks: 2, losses: new Float64Array(3) } });
    const { code, reason } = await c2.closed;
    expect(code).toBe(CloseCode.protocolError);
    expect(reason).toContain('result.losses');
    // The close reason is capped at 123 bytes; the log has the full list.
    expect(log.lines.some((l) => l.includes('result.losses: expected length 4 (nQueries 2 x nMasks 2), got 3'))).toBe(true);
    await stillWorks(server, good);
  });

  it('protocol order and direction: text frames, messages before hello, coordinator-only types', async () => {
    const { server, port } = await startServer();
    const good = await goodWorker(port);
    const text = await rawClient(port);
    text.ws.send('{"type":"hello"}');
    expect(await text.closed).toMatchObject({ code: CloseCode.protocolError, reason: expect.stringMatching(/text frame/) });
    const early = await rawClient(port);
    early.sendMsg({ type: 'progress', jobId: 'j', shardId: 0, done: 0, total: 1 });
    expect(await early.closed).toMatchObject({ code: CloseCode.protocolError, reason: "expected 'hello' first, got 'progress'" });
    const wrongSide = await rawClient(port);
    wrongSide.send(encodeMessage({ type: 'cancel', jobId: 'j', shardId: null, reason: 'x' }));
    expect(await wrongSide.closed).toMatchObject({ code: CloseCode.protocolError, reason: expect.stringMatching(/'cancel' is sent by the coordinator/) });
    await stillWorks(server, good);
  });

  it('hello timeout closes a silent connection with 4003', async () => {
    const { port } = await startServer({ helloTimeoutMs: 50 });
    const c = await rawClient(port);
    expect(await c.closed).toEqual({ code: CloseCode.helloTimeout, reason: 'no hello within 50 ms' });
  });

  it('admission hook refuses with 4004 and the worker stops', async () => {
    const { port } = await startServer({ admit: (h) => (h.capabilities.modelHash === 'sha256:feed' ? 'wrong model for this job' : undefined) });
    const w = new WorkerConnection({ url: `ws://127.0.0.1:${port}`, token: TOKEN, workerId: 'w', capabilities, logger: capture() }).start();
    cleanup.push(() => w.close());
    const [reject] = await w.next('reject');
    expect(reject).toMatchObject({ reason: 'refused', message: expect.stringContaining('wrong model for this job') });
    expect((await w.next('stopped'))[0].reason).toMatch(/refused/);
  });

  it('a second connection with the same worker id supersedes the first', async () => {
    const { server, port } = await startServer();
    const first = await goodWorker(port, 'dup');
    const firstStopped = first.next('stopped');
    const lost = server.next('peer-lost');
    const second = await goodWorker(port, 'dup');
    expect((await lost)[0]).toBe('dup');
    expect((await lost)[1].reason).toBe('superseded');
    expect((await firstStopped)[0].reason).toMatch(/4005/);
    expect(server.peers().length).toBe(1);
    await stillWorks(server, second, 'dup');
  });
});

describe('heartbeats', () => {
  it('drops a peer that stops answering pings and emits peer-lost; a live peer stays', async () => {
    const { server, port, log } = await startServer({ heartbeatMs: 30, heartbeatMisses: 2 });
    const good = await goodWorker(port);
    const mute = await rawClient(port);
    mute.sendMsg(hello('mute')); // never answers the pings it gets
    const lost = server.next('peer-lost');
    const [id, info] = await lost;
    expect([id, info.reason, info.code]).toEqual(['mute', 'heartbeat-timeout', CloseCode.heartbeatTimeout]);
    expect(mute.frames.filter((f) => f.type === 'ping').length).toBeGreaterThanOrEqual(2);
    expect(log.lines.some((l) => l.includes("worker 'mute'") && l.includes('missed 2 heartbeats'))).toBe(true);
    await mute.closed;
    // The answering worker survives several more heartbeat periods and has a measured RTT.
    for (let i = 0; i < 5; i++) await new Promise((r) => setTimeout(r, 30));
    expect(server.peers().map((p) => p.id)).toEqual(['good']);
    expect(server.peers()[0].rttMs).not.toBeNull();
    await stillWorks(server, good);
  });

  it('closing the server tells workers why (shutdown) before closing them', async () => {
    const { server, port } = await startServer();
    const w = await goodWorker(port);
    const shutdown = w.next('shutdown');
    const stopped = w.next('stopped');
    await server.close({ reason: 'done for today' });
    expect((await shutdown)[0]).toEqual({ type: 'shutdown', reason: 'done for today', reconnect: false });
    expect((await stopped)[0].reason).toMatch(/done for today/);
  });
});
