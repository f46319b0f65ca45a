// The tail of a command-line entry point that ends the process itself (worker threads or sockets
// would otherwise keep it alive).

/** Exits with the code `run` resolves to; a rejection prints `<name>: error: <message>` and exits 1. */
export function exitWhenDone(name: string, run: Promise<number>): void {
  run.then(
    (code) => process.exit(code),
    (e: unknown) => {
      process.stderr.write(`${name}: error: ${e instanceof Error ? e.message : String(e)}\n`);
      process.exit(1);
    },
  );
}
