// The coordinator's end of the fleet connection: handshake, token check, heartbeats, typed message events.
// Scheduling lives above this (it listens to 'peer', 'peer-lost' and the message events and calls send()).
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import {
  LIMITS,
  PROTOCOL_VERSION,
  decodeMessage,
  encodeMessage,
  ProtocolError,
  type Capabilities,
  type CoordinatorMessage,
  type Hello,
  type RejectReason,
  type WorkerAppMessage,
  type WorkerMessage,
} from '../protocol/index.js';
import { CloseCode, closeReason } from './close-codes.js';
import { TypedEmitter } from './emitter.js';
import { consoleLogger, type Logger } from './logger.js';
import { checkBindSecurity, tokenMatches } from './security.js';
import { toBytes } from './bytes.js';

/** A hello is small; a peer that has not authenticated may not make us decode more than this. */
export const HELLO_MAX_BYTES = 64 * 1024;

export interface CoordinatorServerOptions {
  /** Interface to bind; default 127.0.0.1. Any non-loopback host requires `token`. */
  host?: string;
  /** Port; default 0 (ephemeral, read it from start()'s result). */
  port?: number;
  /** Shared secret every worker must present in hello (at least 16 characters). */
  token?: string;
  /** Largest frame in bytes, enforced by ws and by decode; default LIMITS.maxPayload. */
  maxPayload?: number;
  /** Ping period; default 5000 ms. */
  heartbeatMs?: number;
  /** Consecutive unanswered pings after which a peer is dropped; default 3. */
  heartbeatMisses?: number;
  /** A connection that has not sent hello by then is closed; default 10000 ms. */
  helloTimeoutMs?: number;
  /** Admission hook after the token check: return a message to refuse the worker, undefined to admit. */
  admit?: (hello: Hello) => string | undefined;
  /** Answers plain HTTP requests on the same port (the dashboard, /metrics); default: 426 for every request. */
  httpHandler?: (req: IncomingMessage, res: ServerResponse) => void;
  logger?: Logger;
}

export interface PeerInfo {
  /** The worker id from hello; unique among connected peers (a reconnect supersedes the old socket). */
  id: string;
  name: string;
  capabilities: Capabilities;
  remote: string;
  connectedAt: number;
  /** Last heartbeat round-trip on the coordinator's clock, ms. */
  rttMs: number | null;
  /** When the last pong arrived (ms since epoch), null before the first. */
  lastPongAt: number | null;
}

export type PeerLostReason = 'closed' | 'heartbeat-timeout' | 'superseded' | 'protocol-error';

export interface ConnectionClosed {
  /** Worker id once the handshake completed, else null. */
  peerId: string | null;
  remote: string;
  code: number;
  reason: string;
}

type AppEvents = { [M in WorkerAppMessage as M['type']]: [msg: M, peer: PeerInfo] };

export type CoordinatorServerEvents = AppEvents & {
  listening: [address: { host: string; port: number }];
  /** A worker completed the handshake. */
  peer: [peer: PeerInfo];
  /** A worker that had completed the handshake is gone; reassign its shards. */
  'peer-lost': [peerId: string, info: { reason: PeerLostReason; code: number; detail: string }];
  /** Every application message, in arrival order. */
  message: [msg: WorkerAppMessage, peer: PeerInfo];
  /** Any connection closed (handshaken or not), with the code and reason we closed it with when we did. */
  'connection-closed': [info: ConnectionClosed];
};

interface Conn {
  ws: WebSocket;
  remote: string;
  peer: PeerInfo | null;
  /** Set when we decide to close, so the close event reports our code rather than the peer's echo. */
  closing: { code: number; reason: string; lost: PeerLostReason } | null;
  helloTimer: NodeJS.Timeout | null;
  pingSeq: number;
  pongSeq: number;
  misses: number;
}

const lostReasonFor = (code: number): PeerLostReason =>
  code === CloseCode.heartbeatTimeout ? 'heartbeat-timeout' : code === CloseCode.superseded ? 'superseded' : code === CloseCode.protocolError || code === CloseCode.tooLarge ? 'protocol-error' : 'closed';

export class CoordinatorServer extends TypedEmitter<CoordinatorServerEvents> {
  readonly host: string;
  readonly maxPayload: number;
  readonly heartbeatMs: number;
  readonly heartbeatMisses: number;
  readonly sessionId = randomUUID();
  readonly #port: number;
  readonly #token: string | undefined;
  readonly #helloTimeoutMs: number;
  readonly #admit: ((hello: Hello) => string | undefined) | undefined;
  readonly #httpHandler: ((req: IncomingMessage, res: ServerResponse) => void) | undefined;
  readonly #log: Logger;
  readonly #conns = new Set<Conn>();
  readonly #peers = new Map<string, Conn>();
  /** Worker ids refused for good (quarantined), with the message they are told. */
  readonly #refused = new Map<string, string>();
  #http: Server | null = null;
  #wss: WebSocketServer | null = null;
  #heartbeat: NodeJS.Timeout | null = null;
  #stopping = false;

  constructor(opts: CoordinatorServerOptions = {}) {
    super();
    this.host = opts.host ?? '127.0.0.1';
    checkBindSecurity(this.host, opts.token);
    this.#port = opts.port ?? 0;
    this.#token = opts.token;
    this.maxPayload = opts.maxPayload ?? LIMITS.maxPayload;
    this.heartbeatMs = opts.heartbeatMs ?? 5000;
    this.heartbeatMisses = opts.heartbeatMisses ?? 3;
    this.#helloTimeoutMs = opts.helloTimeoutMs ?? 10_000;
    this.#admit = opts.admit;
    this.#httpHandler = opts.httpHandler;
    this.#log = opts.logger ?? consoleLogger;
    for (const [k, v] of Object.entries({ maxPayload: this.maxPayload, heartbeatMs: this.heartbeatMs, heartbeatMisses: this.heartbeatMisses, helloTimeoutMs: this.#helloTimeoutMs })) {
      if (!Number.isInteger(v) || v < 1) throw new Error(`CoordinatorServer: ${k} must be a positive integer, got ${v}`);
    }
  }

  /** Bind and start serving; resolves with the bound address. */
  async start(): Promise<{ host: string; port: number }> {
    if (this.#http) throw new Error('CoordinatorServer.start: already started');
    const http = createServer((req, res) => {
      if (this.#httpHandler) return this.#httpHandler(req, res);
      res.writeHead(426, { 'content-type': 'text/plain', upgrade: 'websocket' }).end('MTV coordinator: WebSocket connections only\n');
    });
    // perMessageDeflate off: compressed frames would let a small frame inflate past maxPayload checks' intent.
    const wss = new WebSocketServer({ server: http, maxPayload: this.maxPayload, perMessageDeflate: false, clientTracking: false });
    wss.on('connection', (ws, req) => this.#onConnection(ws, req));
    wss.on('error', (e) => this.#log.warn(`coordinator: websocket server error: ${e.message}`));
    this.#http = http;
    this.#wss = wss;
    await new Promise<void>((resolve, reject) => {
      http.once('error', (e: NodeJS.ErrnoException) => reject(new Error(`CoordinatorServer: cannot listen on ${this.host}:${this.#port}: ${e.code ?? ''} ${e.message}`)));
      http.listen(this.#port, this.host, () => resolve());
    });
    http.on('error', (e) => this.#log.warn(`coordinator: http server error: ${e.message}`));
    this.#heartbeat = setInterval(() => this.#tick(), this.heartbeatMs);
    const address = this.address;
    this.#log.info(`coordinator: listening on ws://${address.host}:${address.port} (protocol v${PROTOCOL_VERSION}, token ${this.#token ? 'required' : 'not set'})`);
    this.emit('listening', address);
    return address;
  }

  get address(): { host: string; port: number } {
    const a = this.#http?.address() as AddressInfo | null | undefined;
    if (!a) throw new Error('CoordinatorServer.address: not listening');
    return { host: a.address, port: a.port };
  }

  /** Workers that completed the handshake. */
  peers(): PeerInfo[] {
    return [...this.#peers.values()].map((c) => c.peer!);
  }

  /** Send to one worker; resolves once the frame is handed to the socket. Throws for an unknown peer or an invalid message. */
  send(peerId: string, msg: CoordinatorMessage): Promise<void> {
    const conn = this.#peers.get(peerId);
    if (!conn) return Promise.reject(new Error(`CoordinatorServer.send(${msg.type}): no connected peer '${peerId}'`));
    return this.#send(conn, msg);
  }

  /** Close one worker's connection with a code and reason (it will emit 'peer-lost'). */
  disconnect(peerId: string, code: number = CloseCode.normal, reason = 'closed by coordinator'): void {
    const conn = this.#peers.get(peerId);
    if (conn) this.#close(conn, code, reason);
  }

  /**
   * Tells a worker why it is refused (`reject { reason: 'refused' }`, close 4004: it does not
   * reconnect). `permanent` (default): later hellos with this worker id are refused with the same
   * message.
   */
  refuse(workerId: string, message: string, opts: { permanent?: boolean } = {}): void {
    if (opts.permanent ?? true) this.#refused.set(workerId, message);
    const conn = this.#peers.get(workerId);
    if (conn) this.#reject(conn, 'refused', message);
  }

  /** Tell every worker we are going away, close all connections and stop listening. */
  async close(opts: { reason?: string; reconnect?: boolean } = {}): Promise<void> {
    if (this.#stopping) return;
    this.#stopping = true;
    if (this.#heartbeat) clearInterval(this.#heartbeat);
    const reason = opts.reason ?? 'coordinator shutting down';
    await Promise.allSettled([...this.#peers.values()].map((c) => this.#send(c, { type: 'shutdown', reason, reconnect: opts.reconnect ?? false })));
    const closed = [...this.#conns].map((c) => new Promise<void>((resolve) => {
      if (c.ws.readyState === c.ws.CLOSED) return resolve();
      c.ws.once('close', () => resolve());
      this.#close(c, CloseCode.goingAway, reason);
    }));
    await Promise.all(closed);
    await new Promise<void>((resolve) => this.#wss?.close(() => resolve()) ?? resolve());
    await new Promise<void>((resolve) => {
      if (!this.#http) return resolve();
      this.#http.close(() => resolve());
      this.#http.closeAllConnections();
    });
    this.#log.info('coordinator: closed');
  }

  #onConnection(ws: WebSocket, req: IncomingMessage): void {
    const remote = `${req.socket.remoteAddress ?? '?'}:${req.socket.remotePort ?? '?'}`;
    const conn: Conn = { ws, remote, peer: null, closing: null, helloTimer: null, pingSeq: 0, pongSeq: 0, misses: 0 };
    this.#conns.add(conn);
    ws.on('message', (data, isBinary) => this.#onFrame(conn, data, isBinary));
    // ws reports oversized frames (it then closes with 1009) and framing violations here.
    ws.on('error', (e: Error & { code?: string }) => {
      const code = e.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH' ? CloseCode.tooLarge : 1002;
      conn.closing ??= { code, reason: e.message, lost: 'protocol-error' };
      this.#log.warn(`coordinator: closing ${this.#who(conn)}: ${e.message}`);
    });
    ws.on('close', (code, reasonBuf) => this.#onClose(conn, code, reasonBuf.toString()));
    if (this.#stopping) return this.#reject(conn, 'shutting-down', 'coordinator shutting down');
    conn.helloTimer = setTimeout(() => this.#close(conn, CloseCode.helloTimeout, `no hello within ${this.#helloTimeoutMs} ms`), this.#helloTimeoutMs);
  }

  #who(conn: Conn): string {
    return conn.peer ? `worker '${conn.peer.id}' (${conn.remote})` : `connection ${conn.remote}`;
  }

  #onFrame(conn: Conn, data: RawData, isBinary: boolean): void {
    if (conn.closing) return;
    if (!isBinary) return this.#close(conn, CloseCode.protocolError, 'text frame: the protocol uses binary msgpack frames');
    let msg: WorkerMessage;
    try {
      const maxBytes = conn.peer ? this.maxPayload : Math.min(this.maxPayload, HELLO_MAX_BYTES);
      msg = decodeMessage(toBytes(data), { maxBytes, from: 'worker' }) as WorkerMessage;
    } catch (err) {
      // Anything decode throws is the frame's fault; it must never take the server down.
      const e = err instanceof ProtocolError ? err : new ProtocolError('not-msgpack', `undecodable frame: ${String(err)}`);
      if (e.reason === 'version-mismatch' && !conn.peer) return this.#reject(conn, 'version-mismatch', `${e.message}; upgrade the worker or the coordinator`);
      const code = e.reason === 'too-large' ? CloseCode.tooLarge : e.reason === 'version-mismatch' ? CloseCode.versionMismatch : CloseCode.protocolError;
      return this.#close(conn, code, e.message);
    }
    if (!conn.peer) {
      if (msg.type !== 'hello') return this.#close(conn, CloseCode.protocolError, `expected 'hello' first, got '${msg.type}'`);
      return this.#onHello(conn, msg);
    }
    const peer = conn.peer;
    switch (msg.type) {
      case 'hello':
        return this.#close(conn, CloseCode.protocolError, `second 'hello' on an established connection`);
      case 'pong':
        if (msg.seq > conn.pingSeq) return this.#close(conn, CloseCode.protocolError, `pong for ping ${msg.seq} that was never sent (last ${conn.pingSeq})`);
        conn.pongSeq = Math.max(conn.pongSeq, msg.seq);
        conn.misses = 0;
        peer.rttMs = Math.max(0, Date.now() - msg.t);
        peer.lastPongAt = Date.now();
        return;
      default:
        this.emit('message', msg, peer);
        (this.emit as (e: string, m: WorkerAppMessage, p: PeerInfo) => boolean)(msg.type, msg, peer);
    }
  }

  #onHello(conn: Conn, hello: Hello): void {
    if (conn.helloTimer) clearTimeout(conn.helloTimer);
    conn.helloTimer = null;
    if (this.#token !== undefined && !tokenMatches(this.#token, hello.token)) {
      return this.#reject(conn, 'bad-token', `worker '${hello.workerId}' presented a wrong token`);
    }
    const refused = this.#refused.get(hello.workerId);
    if (refused !== undefined) return this.#reject(conn, 'refused', refused);
    const refusal = this.#admit?.(hello);
    if (refusal !== undefined) return this.#reject(conn, 'refused', `worker '${hello.workerId}' refused: ${refusal}`);
    const old = this.#peers.get(hello.workerId);
    if (old) {
      // Same worker id again: the worker reconnected before we noticed the old socket die.
      this.#peers.delete(hello.workerId);
      this.#close(old, CloseCode.superseded, `superseded by a new connection from ${conn.remote}`);
      this.emit('peer-lost', hello.workerId, { reason: 'superseded', code: CloseCode.superseded, detail: `new connection from ${conn.remote}` });
    }
    conn.peer = { id: hello.workerId, name: hello.name, capabilities: hello.capabilities, remote: conn.remote, connectedAt: Date.now(), rttMs: null, lastPongAt: null };
    this.#peers.set(hello.workerId, conn);
    this.#send(conn, {
      type: 'welcome',
      peerId: hello.workerId,
      sessionId: this.sessionId,
      heartbeatMs: this.heartbeatMs,
      heartbeatMisses: this.heartbeatMisses,
      maxPayload: this.maxPayload,
      t: Date.now(),
    }).catch((e: Error) => this.#log.warn(`coordinator: welcome to ${this.#who(conn)} failed: ${e.message}`));
    this.#log.info(`coordinator: worker '${hello.workerId}' (${hello.name}) joined from ${conn.remote}: ${hello.capabilities.backend}, ${hello.capabilities.threads} threads, model ${hello.capabilities.modelHash}`);
    this.emit('peer', conn.peer);
  }

  #reject(conn: Conn, reason: RejectReason, message: string): void {
    const code = reason === 'bad-token' ? CloseCode.badToken : reason === 'version-mismatch' ? CloseCode.versionMismatch : reason === 'refused' ? CloseCode.refused : CloseCode.goingAway;
    // The reject frame goes out before the close frame on the same socket; the close reason repeats it.
    this.#send(conn, { type: 'reject', reason, message }).catch(() => {});
    this.#close(conn, code, message);
  }

  #send(conn: Conn, msg: CoordinatorMessage): Promise<void> {
    const bytes = encodeMessage(msg);
    return new Promise((resolve, reject) => {
      if (conn.ws.readyState !== conn.ws.OPEN) return reject(new Error(`CoordinatorServer.send(${msg.type}): ${this.#who(conn)} is not open`));
      conn.ws.send(bytes, { binary: true }, (err) => (err ? reject(new Error(`CoordinatorServer.send(${msg.type}) to ${this.#who(conn)}: ${err.message}`)) : resolve()));
    });
  }

  #close(conn: Conn, code: number, reason: string): void {
    if (conn.closing) return;
    conn.closing = { code, reason, lost: lostReasonFor(code) };
    const level = code === CloseCode.normal || code === CloseCode.goingAway ? 'info' : 'warn';
    this.#log[level](`coordinator: closing ${this.#who(conn)} (${code}): ${reason}`);
    if (code === CloseCode.heartbeatTimeout) {
      conn.ws.terminate(); // the peer is unresponsive: a close handshake would only wait on it
      return;
    }
    conn.ws.close(code, closeReason(reason));
    // A peer that ignores the close frame is cut off.
    setTimeout(() => conn.ws.terminate(), 2000).unref();
  }

  #onClose(conn: Conn, peerCode: number, peerReason: string): void {
    if (conn.helloTimer) clearTimeout(conn.helloTimer);
    this.#conns.delete(conn);
    const code = conn.closing?.code ?? peerCode;
    const reason = conn.closing?.reason ?? (peerReason || 'closed by peer');
    const peerId = conn.peer?.id ?? null;
    if (peerId !== null && this.#peers.get(peerId) === conn) {
      this.#peers.delete(peerId);
      if (!this.#stopping) this.emit('peer-lost', peerId, { reason: conn.closing?.lost ?? 'closed', code, detail: reason });
    }
    if (!conn.closing) this.#log.info(`coordinator: ${this.#who(conn)} closed (${code}): ${reason}`);
    this.emit('connection-closed', { peerId, remote: conn.remote, code, reason });
  }

  /** One heartbeat period: count a miss for every peer that did not answer the previous ping, drop after K. */
  #tick(): void {
    for (const conn of this.#peers.values()) {
      if (conn.closing) continue;
      if (conn.pongSeq < conn.pingSeq) conn.misses++;
      if (conn.misses >= this.heartbeatMisses) {
        this.#close(conn, CloseCode.heartbeatTimeout, `missed ${conn.misses} heartbeats (${this.heartbeatMs} ms apart)`);
        continue;
      }
      conn.pingSeq++;
      this.#send(conn, { type: 'ping', seq: conn.pingSeq, t: Date.now() }).catch(() => {});
    }
  }
}
