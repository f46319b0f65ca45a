// Worker-thread entry: one Dawn device and one copy of the model, driven over comlink by the main
// thread, which keeps the socket (heartbeats, assignments) responsive while this thread computes.
import { parentPort } from 'node:worker_threads';
import { expose } from 'comlink';
import nodeEndpoint, { type NodeEndpoint } from 'comlink/dist/esm/node-adapter.mjs';
import type { Shard } from '@mtv/coordinator';
import { ShardRunner, type ProgressFn, type RunOutcome, type RunnerInfo, type RunnerOptions } from './runner.js';

let runner: ShardRunner | null = null;

export const threadApi = {
  async init(modelDir: string, opts: RunnerOptions): Promise<RunnerInfo> {
    runner ??= await ShardRunner.load(modelDir, opts);
    return runner.info();
  },
  async run(shard: Shard, onProgress: ProgressFn): Promise<RunOutcome> {
    if (!runner) return { ok: false, code: 'internal', message: 'worker thread: run before init', retryable: true };
    return runner.run(shard, onProgress);
  },
  async close(): Promise<void> {
    await runner?.close();
    runner = null;
  },
};
export type ThreadApi = typeof threadApi;

if (!parentPort) throw new Error('thread.js must run as a worker thread (node:worker_threads)');
expose(threadApi, nodeEndpoint(parentPort as unknown as NodeEndpoint));
