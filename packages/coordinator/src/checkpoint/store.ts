// Durable job state: one msgpack file written atomically (temp file, fsync, rename, fsync of the
// directory), so a crash at any instant leaves either the previous or the new state, never a torn one.
import { mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Packr } from 'msgpackr';

// moreTypes: Float64Array / Uint8Array come back as the same classes, bit for bit.
const packr = new Packr({ moreTypes: true, useRecords: false, mapsAsObjects: true });

export class CheckpointError extends Error {
  constructor(readonly file: string, message: string) {
    super(`checkpoint ${file}: ${message}`);
    this.name = 'CheckpointError';
  }
}

export class CheckpointStore<T> {
  readonly file: string;
  #chain: Promise<void> = Promise.resolve();
  #writes = 0;

  constructor(readonly dir: string, name = 'job-state.msgpack') {
    this.file = join(dir, name);
  }

  /** Number of completed saves (for tests and logs). */
  get writes(): number {
    return this.#writes;
  }

  /** The saved state, or null when there is none. Throws when the file exists but cannot be read. */
  async load(validate: (v: unknown) => T): Promise<T | null> {
    let bytes: Buffer;
    try {
      bytes = await readFile(this.file);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw new CheckpointError(this.file, `cannot read: ${(e as Error).message}`);
    }
    let v: unknown;
    try {
      v = packr.unpack(bytes);
    } catch (e) {
      throw new CheckpointError(this.file, `not msgpack (${bytes.length} bytes): ${(e as Error).message}`);
    }
    try {
      return validate(v);
    } catch (e) {
      throw new CheckpointError(this.file, (e as Error).message);
    }
  }

  /** Writes `state` atomically; saves are serialised in call order. */
  save(state: T): Promise<void> {
    const bytes = packr.pack(state);
    const next = this.#chain.then(() => this.#write(bytes));
    this.#chain = next.catch(() => {});
    return next;
  }

  async #write(bytes: Uint8Array): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    const tmp = `${this.file}.tmp-${process.pid}`;
    const fh = await open(tmp, 'w', 0o600);
    try {
      await fh.writeFile(bytes);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, this.file);
    // fsync the directory so the rename itself survives a power loss (best effort: not every FS allows it).
    try {
      const d = await open(this.dir, 'r');
      try {
        await d.sync();
      } finally {
        await d.close();
      }
    } catch {
      /* directory fsync unsupported */
    }
    this.#writes++;
  }

  async clear(): Promise<void> {
    await this.#chain;
    await rm(this.file, { force: true });
  }
}

/**
 * Calls `fn` at most once per `ms` after `poke()`; `flush()` forces a pending call. `fn` snapshots the
 * state itself when called (CheckpointStore.save packs synchronously), so a save never mixes a newer
 * array with an older counter.
 */
export class Throttle {
  #last = 0;
  #dirty = false;
  constructor(private readonly ms: number, private readonly fn: () => Promise<void>) {}

  async poke(): Promise<void> {
    this.#dirty = true;
    if (Date.now() - this.#last >= this.ms) await this.flush();
  }

  async flush(): Promise<void> {
    if (!this.#dirty) return;
    this.#dirty = false;
    this.#last = Date.now();
    await this.fn();
  }
}
