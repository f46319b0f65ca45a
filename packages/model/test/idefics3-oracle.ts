// Python oracles of the Idefics3 tests: the first python3 that has the modules a test needs
// ($MTV_PYTHON, python3 on PATH, which may be a pyenv without them, then Debian's /usr/bin/python3).
// Pillow is python3-pil (scripts/bootstrap.mjs installs it as root); torch + numpy are python3-torch
// and python3-numpy. A test whose modules are missing is skipped with a warning naming the package.
import { execFileSync } from 'node:child_process';

const found = new Map<string, string | null>();

/** A python3 that imports every module of `modules` (e.g. 'PIL, numpy'), or null. */
export function findPython(modules: string): string | null {
  if (found.has(modules)) return found.get(modules)!;
  let hit: string | null = null;
  for (const py of [process.env['MTV_PYTHON'], 'python3', '/usr/bin/python3']) {
    if (!py) continue;
    try {
      execFileSync(py, ['-c', `import ${modules}`], { stdio: 'ignore' });
      hit = py;
      break;
    } catch {
      // next
    }
  }
  found.set(modules, hit);
  return hit;
}

/** Runs `script` with `args`; stdout as text. Errors carry the script's stderr. */
export function runPython(py: string, script: string, args: readonly string[], env: Record<string, string> = {}): string {
  return execFileSync(py, ['-c', script, ...args], { encoding: 'utf8', env: { ...process.env, ...env }, maxBuffer: 256 * 1024 * 1024 });
}
