// Whether a module is the program's entry point (`node dist/x.js`), so a file can be both a CLI and a
// library. Resolves symlinks (npm's bin links) before comparing.
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export function isMainModule(moduleUrl: string): boolean {
  try {
    return process.argv[1] !== undefined && realpathSync(process.argv[1]) === fileURLToPath(moduleUrl);
  } catch {
    return false;
  }
}
