// Command-line entry points share this: when the reader of stdout goes away (`mtv inspect A | head -1`),
// the next write fails with EPIPE. Node ignores SIGPIPE, so without a listener that error is an
// uncaught exception with a stack trace. The reader asked for no more output: exit quietly instead.

let installed = false;

/** Exits with `code` (default 0) on EPIPE on stdout or stderr; other stream errors are rethrown. Idempotent. */
export function exitOnBrokenPipe(code = 0): void {
  if (installed) return;
  installed = true;
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'EPIPE' || e.code === 'ERR_STREAM_DESTROYED') process.exit(code);
      throw e;
    });
  }
}
