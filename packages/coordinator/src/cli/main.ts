#!/usr/bin/env node
// `mtv coordinator`: serve a fleet of workers and run one job (extract -> locate -> eval) over it.
//   node packages/coordinator/dist/cli/main.js coordinator --port 7070 --data train.jsonl --model DIR [--resume]
import { exitOnBrokenPipe } from '@mtv/mtv';
import { runCoordinatorCli } from './coordinator-command.js';

exitOnBrokenPipe();

const argv = process.argv.slice(2);
runCoordinatorCli(argv[0] === 'coordinator' ? argv.slice(1) : argv).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    process.stderr.write(`mtv coordinator: error: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exitCode = 1;
  },
);
