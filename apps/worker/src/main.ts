#!/usr/bin/env node
// mtv-worker --connect ws://host:7070 --token ... --model DIR [--threads N]
import { exitWhenDone } from '@mtv/coordinator';
import { exitOnBrokenPipe } from '@mtv/kernels';
import { runWorkerCli } from './cli.js';

exitOnBrokenPipe();

exitWhenDone('mtv-worker', runWorkerCli(process.argv.slice(2)));
