#!/usr/bin/env node
// The `mtv` command of an installed fleet: `mtv coordinator ...` serves a fleet (this package);
// every other subcommand (extract, locate, run, eval, apply, inspect) is @mtv/mtv's CLI. It lives
// here because the coordinator sits above @mtv/mtv in the dependency direction.
import { exitOnBrokenPipe, runMtvCli } from '@mtv/mtv';
import { runCoordinatorCli } from './coordinator-command.js';

exitOnBrokenPipe(); // `mtv inspect A | head -1`: exit quietly when the reader goes away
const argv = process.argv.slice(2);
const run = argv[0] === 'coordinator' ? runCoordinatorCli(argv.slice(1)) : runMtvCli(argv);
run.then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    process.stderr.write(`mtv: error: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exitCode = 1;
  },
);
