// The worker's end of the fleet connection: hello/welcome, heartbeat answers, dead-coordinator detection,
// reconnect with exponential backoff and jitter. Job execution lives above this (apps/worker).
import { WebSocket, type ClientOptions, type RawData } from 'ws';
import {
  LIMITS,
  decodeMessage,
  encodeMessage,
  ProtocolError,
  type Capabilities,
  type CoordinatorMessage,
  type Reject,
  type RejectReason,
  type Welcome,
  type WorkerAppMessage,
  type CoordinatorAppMessage,
  type WorkerMessage,
} from '../protocol/index.js';
import { backoffDelay, resolveBackoff, type BackoffOptions } from './backoff.js';
import { toBytes } from './bytes.js';
import { CloseCode, FATAL_CLOSE_CODES, closeReason } from './close-codes.js';
import { TypedEmitter } from './emitter.js';
import { consoleLogger, type Logger } from './logger.js';
import { isLoopbackHost } from './security.js';

export interface WorkerConnectionOptions {
  /** `ws://host:port` or `wss://host[:port][/path]` (wss when the coordinator sits behind a TLS-terminating proxy). */
  url: string;
  /** The coordinator's token; '' when it runs without one (loopback only). */
  token?: string;
  workerId: string;
  name?: string;
  capabilities: Capabilities;
  maxPayload?: number;
  backoff?: Partial<BackoffOptions>;
  /** Time allowed from starting a connection attempt to receiving welcome; default 10000 ms. */
  welcomeTimeoutMs?: number;
  /** TLS settings for wss:// (a private CA, or a client certificate for mutual TLS at the proxy). */
  tls?: Pick<ClientOptions, 'ca' | 'cert' | 'key' | 'rejectUnauthorized'>;
  logger?: Logger;
  /** Random source for backoff jitter; default Math.random. */
  random?: () => number;
}

export type WorkerConnectionState = 'idle' | 'connecting' | 'ready' | 'backoff' | 'stopped';

type AppEvents = { [M in CoordinatorAppMessage as M['type']]: [msg: M] };

export type WorkerConnectionEvents = AppEvents & {
  welcome: [msg: Welcome];
  reject: [msg: Reject];
  /** Every application message, in arrival order. */
  message: [msg: CoordinatorAppMessage];
  /** The socket closed: the code/reason we closed it with when we did (1009, 4000, 4006), else the coordinator's. */
  disconnected: [info: { code: number; reason: string }];
  reconnecting: [info: { attempt: number; delayMs: number }];
  /** The connection will not be retried: closed by us, a fatal reject, shutdown without reconnect, or attempts exhausted. */
  stopped: [info: { reason: string }];
};

/** Reject reasons that retrying cannot fix. */
const FATAL_REJECTS: ReadonlySet<RejectReason> = new Set(['bad-token', 'version-mismatch', 'refused']);

export class WorkerConnection extends TypedEmitter<WorkerConnectionEvents> {
  readonly url: URL;
  readonly #opts: WorkerConnectionOptions;
  readonly #backoff: BackoffOptions;
  readonly #log: Logger;
  readonly #maxPayload: number;
  #state: WorkerConnectionState = 'idle';
  #ws: WebSocket | null = null;
  #welcome: Welcome | null = null;
  #attempt = 0;
  #timer: NodeJS.Timeout | null = null;
  /** Why we closed the current socket ourselves; reported instead of ws's 1006 when the peer never echoes. */
  #localClose: { code: number; reason: string } | null = null;
  /** Set when the current socket must not be followed by a reconnect. */
  #stopReason: string | null = null;
  #readyWaiters: { resolve: (w: Welcome) => void; reject: (e: Error) => void }[] = [];

  constructor(opts: WorkerConnectionOptions) {
    super();
    this.url = new URL(opts.url);
    if (this.url.protocol !== 'ws:' && this.url.protocol !== 'wss:') {
      throw new Error(`WorkerConnection: url '${opts.url}' must start with ws:// or wss://`);
    }
    this.#opts = opts;
    this.#backoff = resolveBackoff(opts.backoff);
    this.#log = opts.logger ?? consoleLogger;
    this.#maxPayload = opts.maxPayload ?? LIMITS.maxPayload;
    if (this.url.protocol === 'ws:' && !isLoopbackHost(this.url.hostname) && opts.token) {
      this.#log.warn(`worker: sending the token in clear text to ${this.url.host}; use wss:// through a TLS-terminating proxy`);
    }
  }

  get state(): WorkerConnectionState {
    return this.#state;
  }

  /** The current session's welcome, or null when not connected. */
  get welcome(): Welcome | null {
    return this.#state === 'ready' ? this.#welcome : null;
  }

  /** Begin connecting (and keep reconnecting until stopped). */
  start(): this {
    if (this.#state !== 'idle') throw new Error(`WorkerConnection.start: already ${this.#state}`);
    this.#connect();
    return this;
  }

  /** Resolves with the welcome once connected (immediately if already); rejects if the connection stops first. */
  ready(): Promise<Welcome> {
    if (this.#state === 'ready' && this.#welcome) return Promise.resolve(this.#welcome);
    if (this.#state === 'stopped') return Promise.reject(new Error(`WorkerConnection: stopped (${this.#stopReason ?? 'closed'})`));
    return new Promise((resolve, reject) => this.#readyWaiters.push({ resolve, reject }));
  }

  /** Send a message; resolves once handed to the socket. Throws if not connected or the message is invalid. */
  send(msg: WorkerAppMessage): Promise<void> {
    return this.#send(msg);
  }

  /** Close for good (no reconnect). */
  async close(reason = 'worker closing'): Promise<void> {
    this.#stop(reason);
    const ws = this.#ws;
    if (!ws || ws.readyState === ws.CLOSED) return;
    await new Promise<void>((resolve) => {
      ws.once('close', () => resolve());
      ws.close(CloseCode.normal, closeReason(reason));
      setTimeout(() => ws.terminate(), 2000).unref();
    });
  }

  #send(msg: WorkerMessage): Promise<void> {
    const ws = this.#ws;
    const open = ws !== null && ws.readyState === ws.OPEN && (this.#state === 'ready' || msg.type === 'hello');
    if (!open) return Promise.reject(new Error(`WorkerConnection.send(${msg.type}): not connected (state ${this.#state})`));
    const bytes = encodeMessage(msg);
    return new Promise((resolve, reject) => {
      ws.send(bytes, { binary: true }, (err) => (err ? reject(new Error(`WorkerConnection.send(${msg.type}): ${err.message}`)) : resolve()));
    });
  }

  #connect(): void {
    this.#state = 'connecting';
    this.#stopReason = null;
    this.#localClose = null;
    const ws = new WebSocket(this.url, {
      maxPayload: this.#maxPayload,
      perMessageDeflate: false,
      handshakeTimeout: this.#opts.welcomeTimeoutMs ?? 10_000,
      ...this.#opts.tls,
    });
    this.#ws = ws;
    this.#arm(this.#opts.welcomeTimeoutMs ?? 10_000, 'no welcome from the coordinator');
    ws.on('open', () => {
      this.#send({ type: 'hello', token: this.#opts.token ?? '', workerId: this.#opts.workerId, name: this.#opts.name ?? this.#opts.workerId, capabilities: this.#opts.capabilities })
        .catch((e: Error) => this.#log.warn(`worker: hello failed: ${e.message}`));
    });
    ws.on('message', (data, isBinary) => this.#onFrame(ws, data, isBinary));
    ws.on('error', (e: Error & { code?: string }) => {
      if (e.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') this.#localClose ??= { code: CloseCode.tooLarge, reason: e.message };
      else if (e.code?.startsWith('WS_ERR_')) this.#localClose ??= { code: 1002, reason: e.message };
      this.#log.warn(`worker: connection to ${this.url.host}: ${e.message}`);
    });
    ws.on('close', (code, reason) => this.#onClose(code, reason.toString()));
  }

  /** (Re)start the liveness timer: no frame for `ms` means the coordinator or the path to it is dead. */
  #arm(ms: number, why: string): void {
    if (this.#timer) clearTimeout(this.#timer);
    const ws = this.#ws;
    this.#timer = setTimeout(() => {
      this.#log.warn(`worker: ${why} within ${ms} ms; dropping the connection`);
      this.#localClose ??= { code: CloseCode.heartbeatTimeout, reason: `${why} within ${ms} ms` };
      ws?.terminate();
    }, ms);
  }

  #onFrame(ws: WebSocket, data: RawData, isBinary: boolean): void {
    if (ws !== this.#ws) return;
    let msg: CoordinatorMessage;
    try {
      if (!isBinary) throw new ProtocolError('not-msgpack', 'text frame: the protocol uses binary msgpack frames');
      msg = decodeMessage(toBytes(data), { maxBytes: this.#maxPayload, from: 'coordinator' }) as CoordinatorMessage;
    } catch (err) {
      const e = err instanceof ProtocolError ? err : new ProtocolError('not-msgpack', `undecodable frame: ${String(err)}`);
      this.#log.warn(`worker: closing: ${e.message}`);
      this.#localClose ??= { code: e.reason === 'too-large' ? CloseCode.tooLarge : CloseCode.protocolError, reason: e.message };
      ws.close(this.#localClose.code, closeReason(e.message));
      return;
    }
    const w = this.#welcome;
    if (this.#state === 'ready' && w) this.#arm(w.heartbeatMs * (w.heartbeatMisses + 1), 'no heartbeat from the coordinator');
    switch (msg.type) {
      case 'welcome': {
        this.#welcome = msg;
        this.#state = 'ready';
        this.#attempt = 0;
        this.#arm(msg.heartbeatMs * (msg.heartbeatMisses + 1), 'no heartbeat from the coordinator');
        this.#log.info(`worker: joined coordinator ${this.url.host} as '${msg.peerId}' (session ${msg.sessionId})`);
        for (const w of this.#readyWaiters.splice(0)) w.resolve(msg);
        this.emit('welcome', msg);
        return;
      }
      case 'reject':
        this.#log.warn(`worker: rejected by the coordinator (${msg.reason}): ${msg.message}`);
        if (FATAL_REJECTS.has(msg.reason)) this.#stopReason = `rejected (${msg.reason}): ${msg.message}`;
        this.emit('reject', msg);
        return;
      case 'ping':
        this.#send({ type: 'pong', seq: msg.seq, t: msg.t, at: Date.now() }).catch(() => {});
        return;
      case 'shutdown':
        if (!msg.reconnect) this.#stopReason = `coordinator shut down: ${msg.reason}`;
        break;
    }
    this.emit('message', msg);
    (this.emit as (e: string, m: CoordinatorAppMessage) => boolean)(msg.type, msg);
  }

  #onClose(peerCode: number, peerReason: string): void {
    const code = this.#localClose?.code ?? peerCode;
    const reason = this.#localClose?.reason ?? peerReason;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    this.#ws = null;
    const wasStopped = this.#state === 'stopped';
    this.emit('disconnected', { code, reason });
    if (wasStopped) return;
    if (FATAL_CLOSE_CODES.has(code)) this.#stopReason ??= `closed by the coordinator (${code}): ${reason}`;
    if (this.#stopReason !== null) return this.#stop(this.#stopReason);
    this.#attempt++;
    if (this.#attempt > this.#backoff.maxAttempts) return this.#stop(`gave up after ${this.#backoff.maxAttempts} attempts (last close ${code}: ${reason || 'no reason'})`);
    const delayMs = backoffDelay(this.#attempt, this.#backoff, this.#opts.random);
    this.#state = 'backoff';
    this.#log.info(`worker: disconnected (${code}${reason ? `: ${reason}` : ''}); reconnecting in ${Math.round(delayMs)} ms (attempt ${this.#attempt})`);
    this.emit('reconnecting', { attempt: this.#attempt, delayMs });
    this.#timer = setTimeout(() => {
      this.#timer = null;
      if (this.#state === 'backoff') this.#connect();
    }, delayMs);
  }

  #stop(reason: string): void {
    if (this.#state === 'stopped') return;
    this.#state = 'stopped';
    this.#stopReason = reason;
    if (this.#timer && !this.#ws) clearTimeout(this.#timer);
    const err = new Error(`WorkerConnection: stopped (${reason})`);
    for (const w of this.#readyWaiters.splice(0)) w.reject(err);
    this.#log.info(`worker: stopped: ${reason}`);
    this.emit('stopped', { reason });
  }
}
