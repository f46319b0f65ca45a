#!/usr/bin/env node
// Committed launcher, so npm can link this bin at install time (before the TypeScript build exists);
// the command itself is the built ../dist/cli/main.js.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const target = new URL('../dist/cli/main.js', import.meta.url);
if (!existsSync(fileURLToPath(target))) {
  process.stderr.write(`${fileURLToPath(target)} is not built yet: run \`npm run bootstrap\` (or \`npx tsc -b\`) in the repository root first\n`);
  process.exit(1);
}
await import(target.href);
