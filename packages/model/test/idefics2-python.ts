// Finds a python3 that has the modules an Idefics2 oracle needs (the PATH one, else the system one,
// where Debian's python3-torch / python3-pil live), and runs oracle scripts with it.
import { execFileSync } from 'node:child_process';

const CANDIDATES = ['python3', '/usr/bin/python3'];

/** The first interpreter that imports every module, or null (the tests then skip, saying why). */
export function findPython(modules: readonly string[]): string | null {
  for (const exe of CANDIDATES) {
    try {
      execFileSync(exe, ['-c', `import ${modules.join(', ')}`], { stdio: 'ignore' });
      return exe;
    } catch {
      // not installed, or lacks a module: try the next
    }
  }
  return null;
}

export function skipReason(modules: readonly string[]): string {
  return `no python3 with ${modules.join(', ')} (tried ${CANDIDATES.join(', ')}); install python3-${modules.join(' python3-')}`;
}

/** Runs `script` with `args`; stdout as text. Errors carry the script's stderr. */
export function runPython(exe: string, script: string, args: readonly string[]): string {
  return execFileSync(exe, ['-c', script, ...args], { encoding: 'utf8', maxBuffer: 1 << 28 });
}
