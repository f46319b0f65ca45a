// A pool of worker threads, each with its own device and model, driven through comlink. Shards queue
// in arrival order and run on the first idle thread.
import { Worker } from 'node:worker_threads';
import { proxy, wrap, type Remote } from 'comlink';
import nodeEndpoint, { type NodeEndpoint } from 'comlink/dist/esm/node-adapter.mjs';
import type { Shard } from '@mtv/coordinator';
import { prepareGpuEnvironment } from '@mtv/kernels';
import type { ProgressFn, RunOutcome, RunnerInfo, RunnerOptions } from './runner.js';
import type { ThreadApi } from './thread.js';

interface Slot {
  readonly worker: Worker;
  readonly api: Remote<ThreadApi>;
  busy: boolean;
}

interface Waiting {
  readonly shard: Shard;
  readonly onProgress: ProgressFn;
  readonly resolve: (o: RunOutcome) => void;
}

export class ThreadPool {
  readonly #slots: Slot[] = [];
  readonly #queue: Waiting[] = [];
  #closed = false;

  private constructor() {}

  /** Starts `threads` threads and loads the model in each; resolves with the first thread's info. */
  static async start(modelDir: string, threads: number, opts: RunnerOptions = {}): Promise<{ pool: ThreadPool; info: RunnerInfo }> {
    if (!Number.isInteger(threads) || threads < 1) throw new Error(`ThreadPool: threads must be a positive integer, got ${threads}`);
    // Native code (Mesa EGL) reads the real process environment, which a thread cannot change: set
    // EGL_PLATFORM here, on the main thread, before any thread asks Dawn for an adapter.
    prepareGpuEnvironment();
    const pool = new ThreadPool();
    const script = new URL('./thread.js', import.meta.url);
    const infos: RunnerInfo[] = [];
    try {
      // One at a time: loading several models at once only fights over the same cores and memory.
      for (let i = 0; i < threads; i++) {
        const worker = new Worker(script, { name: `mtv-shard-${i}` });
        const api = wrap<ThreadApi>(nodeEndpoint(worker as unknown as NodeEndpoint));
        const slot: Slot = { worker, api, busy: false };
        pool.#slots.push(slot);
        const died = new Promise<never>((_, reject) => {
          worker.once('error', (e) => reject(new Error(`worker thread ${i} failed while loading ${modelDir}: ${e.message}`)));
          worker.once('exit', (code) => reject(new Error(`worker thread ${i} exited with code ${code} while loading ${modelDir}`)));
        });
        infos.push(await Promise.race([api.init(modelDir, opts), died]));
      }
    } catch (e) {
      await pool.close();
      throw e;
    }
    const hashes = new Set(infos.map((x) => x.modelHash));
    if (hashes.size !== 1) throw new Error(`ThreadPool: threads loaded different model hashes ${[...hashes].join(', ')}`);
    for (const s of pool.#slots) {
      s.worker.on('error', (e) => process.stderr.write(`worker: thread ${s.worker.threadId} error: ${e.message}\n`));
    }
    return { pool, info: infos[0]! };
  }

  get size(): number {
    return this.#slots.length;
  }

  /** Runs a shard on the next idle thread. */
  run(shard: Shard, onProgress: ProgressFn): Promise<RunOutcome> {
    if (this.#closed) return Promise.resolve({ ok: false, code: 'cancelled', message: 'worker closing', retryable: true });
    return new Promise((resolve) => {
      this.#queue.push({ shard, onProgress, resolve });
      this.#pump();
    });
  }

  /** Drops queued shards matching `pred` (they resolve as cancelled); running ones finish. */
  dropQueued(pred: (s: Shard) => boolean, reason: string): number {
    let n = 0;
    for (let i = this.#queue.length - 1; i >= 0; i--) {
      const w = this.#queue[i]!;
      if (pred(w.shard)) {
        this.#queue.splice(i, 1);
        w.resolve({ ok: false, code: 'cancelled', message: reason, retryable: true });
        n++;
      }
    }
    return n;
  }

  #pump(): void {
    for (const slot of this.#slots) {
      if (slot.busy) continue;
      const w = this.#queue.shift();
      if (!w) return;
      slot.busy = true;
      slot.api
        .run(w.shard, proxy(w.onProgress))
        .then(w.resolve, (e: unknown) => w.resolve({ ok: false, code: 'internal', message: `worker thread: ${e instanceof Error ? e.message : String(e)}`, retryable: true }))
        .finally(() => {
          slot.busy = false;
          this.#pump();
        });
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.dropQueued(() => true, 'worker closing');
    await Promise.all(this.#slots.map(async (s) => {
      await Promise.race([s.api.close().catch(() => {}), new Promise((r) => setTimeout(r, 2000))]);
      await s.worker.terminate();
    }));
  }
}
