// Server-sent events: every client gets the whole snapshot on connect and again after changes, at most
// every `intervalMs` (the page renders a snapshot; nothing is polled). A comment line every 15 s
// keeps proxies from closing an idle stream; `retry` makes the browser reconnect within a second when
// the coordinator restarts (`--resume`).
import type { ServerResponse } from 'node:http';
import type { DashboardSnapshot } from './state.js';

export const MAX_STREAM_CLIENTS = 64;

export class EventStream {
  readonly #clients = new Set<ServerResponse>();
  readonly #snapshot: () => DashboardSnapshot;
  readonly #intervalMs: number;
  #timer: NodeJS.Timeout | null = null;
  #last = 0;
  readonly #keepAlive: NodeJS.Timeout;

  constructor(snapshot: () => DashboardSnapshot, intervalMs = 250) {
    this.#snapshot = snapshot;
    this.#intervalMs = intervalMs;
    this.#keepAlive = setInterval(() => {
      for (const c of this.#clients) c.write(': keep-alive\n\n');
    }, 15_000);
    this.#keepAlive.unref();
  }

  get size(): number {
    return this.#clients.size;
  }

  /** Takes over the response; false when the stream is full (the caller answers 503). */
  add(res: ServerResponse): boolean {
    if (this.#clients.size >= MAX_STREAM_CLIENTS) return false;
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', connection: 'keep-alive', 'x-accel-buffering': 'no' });
    res.write('retry: 1000\n\n');
    this.#clients.add(res);
    res.on('close', () => this.#clients.delete(res));
    this.#send(res, JSON.stringify(this.#snapshot()));
    return true;
  }

  /** Something changed: push a snapshot now or once the interval has passed. */
  poke(): void {
    if (this.#timer || this.#clients.size === 0) return;
    const wait = Math.max(0, this.#last + this.#intervalMs - Date.now());
    this.#timer = setTimeout(() => {
      this.#timer = null;
      this.flush();
    }, wait);
    this.#timer.unref();
  }

  /** Pushes the snapshot to every client now. */
  flush(): void {
    this.#last = Date.now();
    if (this.#clients.size === 0) return;
    const data = JSON.stringify(this.#snapshot());
    for (const c of this.#clients) this.#send(c, data);
  }

  #send(res: ServerResponse, data: string): void {
    res.write(`event: state\ndata: ${data}\n\n`);
  }

  close(): void {
    if (this.#timer) clearTimeout(this.#timer);
    clearInterval(this.#keepAlive);
    for (const c of this.#clients) c.end();
    this.#clients.clear();
  }
}
