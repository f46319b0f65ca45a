// Outputs never destroy inputs or work (issue 11 item 4), shared by the mtv and coordinator CLIs:
//  - checkOutputs: before any work, refuse an output that is (by realpath) an input file, lies inside
//    an input directory (the model folder), or names another output; and prove each output's
//    directory writable by creating and removing a probe file there;
//  - writeFileAtomic / withAtomicFile: write a temp file in the same directory, fsync, rename over
//    the target, fsync the directory, so a crash or a full disk never leaves a half-written output
//    (or a destroyed previous one).
import { constants, realpathSync, statSync } from 'node:fs';
import { access, mkdir, open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join, relative, resolve, isAbsolute, sep } from 'node:path';

export class OutputPathError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'OutputPathError';
  }
}

export interface PathRef {
  /** How the user named it, e.g. '-o' or '--data'. */
  readonly flag: string;
  readonly path: string;
}

export interface InputRef extends PathRef {
  /** A directory (the model folder, an image root): every file inside it is an input too. */
  readonly dir?: boolean;
  /** An output may replace this input (a documented in-place update whose output keeps all its data). */
  readonly replaceable?: boolean;
}

/** The realpath of `p`, or of its deepest existing ancestor joined with the rest (for files not yet written). */
export function realpathLoose(p: string): string {
  const abs = resolve(p);
  const tail: string[] = [];
  let cur = abs;
  for (;;) {
    try {
      return join(realpathSync(cur), ...tail.reverse());
    } catch {
      const parent = dirname(cur);
      if (parent === cur) return abs;
      tail.push(basename(cur));
      cur = parent;
    }
  }
}

const inside = (child: string, dir: string): boolean => {
  const r = relative(dir, child);
  return r === '' || (!r.startsWith(`..${sep}`) && r !== '..' && !isAbsolute(r));
};

/**
 * Refuses, before any work, outputs that would overwrite an input or another output, and outputs
 * whose directory cannot be written. `outputs` with an undefined path are skipped.
 */
export async function checkOutputs(outputs: readonly (PathRef | { flag: string; path: string | undefined })[], inputs: readonly (InputRef | { flag: string; path: string | undefined; dir?: boolean; replaceable?: boolean })[]): Promise<void> {
  const outs = outputs.filter((o): o is PathRef => typeof o.path === 'string' && o.path.length > 0);
  const ins = inputs.filter((i): i is InputRef => typeof i.path === 'string' && i.path.length > 0);
  const seen = new Map<string, string>();
  for (const o of outs) {
    const real = realpathLoose(o.path);
    const other = seen.get(real);
    if (other) throw new OutputPathError(`${o.flag} ${o.path} is the same file as ${other}: give each output its own path`);
    seen.set(real, `${o.flag} ${o.path}`);
    for (const i of ins) {
      const inReal = realpathLoose(i.path);
      const dir = i.dir ?? isDir(inReal);
      if (dir ? inside(real, inReal) : real === inReal) {
        if (!dir && i.replaceable) continue;
        const what = dir ? `inside the input directory ${i.flag} ${i.path}` : `the input ${i.flag} ${i.path}`;
        throw new OutputPathError(`${o.flag} ${o.path} is ${what} (${real}); refusing to overwrite an input: write the output somewhere else`);
      }
    }
    await checkWritable(o);
  }
}

/**
 * Refuses an output that is one of many input files (a dataset's images), compared by realpath.
 * Cheap: one realpath per file, done once the dataset is read and before any model work.
 */
export function checkNotAmong(outputs: readonly { flag: string; path: string | undefined }[], what: string, files: Iterable<string>): void {
  const outs = outputs.filter((o): o is PathRef => typeof o.path === 'string' && o.path.length > 0).map((o) => ({ ...o, real: realpathLoose(o.path) }));
  if (outs.length === 0) return;
  for (const f of files) {
    const real = realpathLoose(f);
    for (const o of outs) if (o.real === real) throw new OutputPathError(`${o.flag} ${o.path} is ${what} ${f}; refusing to overwrite an input: write the output somewhere else`);
  }
}

function isDir(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

/** Creates the output's directory if needed and proves it writable with a probe file; an existing output must be a writable regular file. */
export async function checkWritable(o: PathRef): Promise<void> {
  const abs = resolve(o.path);
  let st: ReturnType<typeof statSync> | null = null;
  try {
    st = statSync(abs);
  } catch {
    st = null;
  }
  if (st && st.isDirectory()) throw new OutputPathError(`${o.flag} ${o.path} is a directory; give a file path`);
  if (st) {
    try {
      await access(abs, constants.W_OK);
    } catch {
      throw new OutputPathError(`${o.flag} ${o.path} exists and is not writable`);
    }
  }
  const dir = dirname(abs);
  try {
    await mkdir(dir, { recursive: true });
  } catch (e) {
    throw new OutputPathError(`${o.flag} ${o.path}: cannot create its directory ${dir}: ${(e as Error).message}`);
  }
  const probe = join(dir, `.${basename(abs)}.probe-${process.pid}-${Date.now()}`);
  try {
    const fh = await open(probe, 'wx');
    await fh.close();
  } catch (e) {
    throw new OutputPathError(`${o.flag} ${o.path}: its directory ${dir} is not writable (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); checked before the run so no work is lost`);
  } finally {
    await rm(probe, { force: true });
  }
}

let tmpSeq = 0;
const tempName = (file: string): string => join(dirname(file), `.${basename(file)}.tmp-${process.pid}-${Date.now()}-${tmpSeq++}`);

async function fsyncDir(dir: string): Promise<void> {
  try {
    const d = await open(dir, 'r');
    try {
      await d.sync();
    } finally {
      await d.close();
    }
  } catch {
    // best effort: not every file system lets a directory be opened or synced
  }
}

export interface AtomicTarget {
  /** Write here (a temp file in the target's directory). */
  readonly tmp: string;
  /** fsync the temp file and rename it over the target. */
  commit(): Promise<void>;
  /** Remove the temp file; the target is untouched. */
  abort(): Promise<void>;
}

/** A temp path for a streamed output, committed by rename once complete. */
export async function atomicTarget(file: string): Promise<AtomicTarget> {
  const abs = resolve(file);
  await mkdir(dirname(abs), { recursive: true });
  const tmp = tempName(abs);
  return {
    tmp,
    commit: async () => {
      const fh = await open(tmp, 'r+');
      try {
        await fh.sync();
      } finally {
        await fh.close();
      }
      await rename(tmp, abs);
      await fsyncDir(dirname(abs));
    },
    abort: () => rm(tmp, { force: true }),
  };
}

/**
 * Runs `write(tmp)` on a temp path in the target's directory, then fsyncs and renames it over
 * `file`. On failure the temp file is removed and `file` is untouched.
 */
export async function withAtomicFile(file: string, write: (tmp: string) => Promise<void>): Promise<void> {
  const target = await atomicTarget(file);
  try {
    await write(target.tmp);
    await target.commit();
  } catch (e) {
    await target.abort();
    throw e;
  }
}

/** writeFile, atomically (temp file in the same directory + fsync + rename). */
export async function writeFileAtomic(file: string, data: string | Uint8Array): Promise<void> {
  await withAtomicFile(file, async (tmp) => {
    const fh = await open(tmp, 'wx');
    try {
      await fh.writeFile(data);
    } finally {
      await fh.close();
    }
  });
}
