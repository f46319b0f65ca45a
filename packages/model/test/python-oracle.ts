// Independent Python oracles of the model tests (Pillow for image decoding and resizing, torch and
// numpy for float64 forwards): the first python3 that imports the modules a test needs, tried in
// order $MTV_PYTHON, python3 on PATH (may be a pyenv without them), then Debian's /usr/bin/python3,
// where python3-pil / python3-torch / python3-numpy install (scripts/bootstrap.mjs does, as root).
// A test whose modules are missing is skipped with a warning naming the packages.
import { execFileSync } from 'node:child_process';

const found = new Map<string, string | null>();
const candidates = (): string[] => [process.env['MTV_PYTHON'], 'python3', '/usr/bin/python3'].filter((p): p is string => !!p);

/** A python3 that imports every module (e.g. ['PIL', 'numpy']), or null. */
export function findPython(modules: readonly string[]): string | null {
  const key = modules.join(', ');
  if (found.has(key)) return found.get(key)!;
  let hit: string | null = null;
  for (const py of candidates()) {
    try {
      execFileSync(py, ['-c', `import ${key}`], { stdio: 'ignore' });
      hit = py;
      break;
    } catch {
      // not installed, or lacks a module: try the next
    }
  }
  found.set(key, hit);
  return hit;
}

const DEBIAN: Record<string, string> = { PIL: 'python3-pil', torch: 'python3-torch', numpy: 'python3-numpy' };

/** Why a test is skipped: the modules, the interpreters tried, and the packages that provide them. */
export function skipReason(modules: readonly string[]): string {
  return `no python3 with ${modules.join(', ')} (tried ${candidates().join(', ')}); apt-get install ${modules.map((m) => DEBIAN[m] ?? `python3-${m}`).join(' ')}`;
}

/** Runs `script` with `args`; stdout as text. Errors carry the script's stderr. */
export function runPython(py: string, script: string, args: readonly string[] = [], env: Record<string, string> = {}): string {
  return execFileSync(py, ['-c', script, ...args], { encoding: 'utf8', env: { ...process.env, ...env }, maxBuffer: 256 * 1024 * 1024 });
}
