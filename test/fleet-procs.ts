// Real coordinator and worker processes for the end-to-end tests: spawned with `node` on the built
// dist files, their output captured line by line so tests can wait for a line and report it on failure.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { expect } from 'vitest';
import { readArtifact, type ActivationSums } from '@mtv/mtv';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));
export const COORDINATOR_MAIN = join(ROOT, 'packages/coordinator/dist/cli/main.js');
export const WORKER_MAIN = join(ROOT, 'apps/worker/dist/main.js');

/** Builds the packages the processes run from (incremental: a no-op when up to date). */
export function buildDist(): void {
  const tsc = join(ROOT, 'node_modules/typescript/bin/tsc');
  const r = spawnSync(process.execPath, [tsc, '-b', 'packages/coordinator', 'apps/worker'], { cwd: ROOT, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`tsc -b failed (exit ${r.status}):\n${r.stdout}${r.stderr}`);
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

export class Proc {
  readonly child: ChildProcess;
  readonly lines: string[] = [];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  #waiters: { re: RegExp; resolve: (l: string) => void }[] = [];

  constructor(readonly name: string, script: string, args: string[], env: NodeJS.ProcessEnv = {}) {
    this.child = spawn(process.execPath, [script, ...args], {
      cwd: ROOT, env: { ...process.env, EGL_PLATFORM: 'surfaceless', ...env }, stdio: ['ignore', 'pipe', 'pipe'],
    });
    for (const stream of [this.child.stdout!, this.child.stderr!]) {
      let buf = '';
      stream.setEncoding('utf8');
      stream.on('data', (chunk: string) => {
        buf += chunk;
        let i: number;
        while ((i = buf.indexOf('\n')) >= 0) {
          this.#line(buf.slice(0, i));
          buf = buf.slice(i + 1);
        }
      });
    }
    this.exited = new Promise((resolve) => this.child.once('exit', (code, signal) => resolve({ code, signal })));
  }

  #line(l: string): void {
    this.lines.push(l);
    this.#waiters = this.#waiters.filter((w) => (w.re.test(l) ? (w.resolve(l), false) : true));
  }

  /** The first line (already seen or future) matching `re`. */
  waitFor(re: RegExp, timeoutMs = 45_000): Promise<string> {
    const seen = this.lines.find((l) => re.test(l));
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`${this.name}: no line matching ${re} within ${timeoutMs} ms; output:\n${this.tail()}`)), timeoutMs);
      this.#waiters.push({ re, resolve: (l) => (clearTimeout(t), resolve(l)) });
      void this.exited.then(({ code, signal }) => reject(new Error(`${this.name} exited (${code ?? signal}) before printing ${re}; output:\n${this.tail()}`)));
    });
  }

  tail(n = 40): string {
    return this.lines.slice(-n).join('\n');
  }

  kill(signal: NodeJS.Signals = 'SIGKILL'): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
  }
}

export function coordinatorProc(args: string[], env: NodeJS.ProcessEnv = {}): Proc {
  return new Proc('coordinator', COORDINATOR_MAIN, ['coordinator', ...args], env);
}

export function workerProc(id: string, args: string[], env: NodeJS.ProcessEnv = {}): Proc {
  return new Proc(`worker ${id}`, WORKER_MAIN, ['--id', id, ...args], env);
}

/** The artifact at `file` holds `rounds` rounds whose sums equal `reference`'s bit for bit (returned for further checks). */
export async function expectSumsBitIdentical(file: string, reference: ActivationSums, rounds: number): Promise<Awaited<ReturnType<typeof readArtifact>>> {
  const bits = (a: Float64Array): Buffer => Buffer.from(a.buffer, a.byteOffset, a.byteLength);
  const a = await readArtifact(file);
  expect(a.sums.count).toBe(rounds);
  expect(bits(a.sums.sum).equals(bits(reference.sum))).toBe(true);
  expect(bits(a.sums.sumSq).equals(bits(reference.sumSq))).toBe(true);
  return a;
}
