#!/usr/bin/env node
// Committed launcher, so npm can link this bin at install time (before the TypeScript build exists);
// the command itself is the built ../dist/demo.js.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const target = new URL('../dist/demo.js', import.meta.url);
if (!existsSync(fileURLToPath(target))) {
  process.stderr.write(`${fileURLToPath(target)} is not built yet: run \`npm run bootstrap\` (or \`npx tsc -b\`) in the repository root first\n`);
  process.exit(1);
}
const { runDemo } = await import(target.href);
const { exitWhenDone } = await import('@mtv/coordinator');
exitWhenDone('demo', runDemo(process.argv.slice(2)));
