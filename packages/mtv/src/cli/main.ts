#!/usr/bin/env node
// Bin entry of the `mtv` CLI.
import { exitOnBrokenPipe } from '@mtv/kernels';
import { main } from './program.js';

exitOnBrokenPipe(); // `mtv inspect A | head -1`: exit quietly when the reader goes away

process.exitCode = await main(process.argv.slice(2));
