#!/usr/bin/env node
// Bin entry of the `mtv` CLI.
import { main } from './program.js';

process.exitCode = await main(process.argv.slice(2));
