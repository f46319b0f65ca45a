#!/usr/bin/env node
// mtv-worker --connect ws://host:7070 --token ... --model DIR [--threads N]
import { runWorkerCli } from './cli.js';

runWorkerCli(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`mtv-worker: error: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  },
);
