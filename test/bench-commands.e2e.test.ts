// Every bench command quoted in BENCHMARKS.md and the READMEs runs as typed from the repository root,
// in quick mode (MTV_BENCH_QUICK=1: tiny sizes, the same code paths; issue 18 item 1). Relative
// paths such as `--model packages/toy/demo-model` resolve against the caller's directory (INIT_CWD).
// `npm run bench` (every package) covers the per-package commands quoted without arguments, so
// those are not run twice; commands with arguments run on their own.
import { spawnSync } from 'node:child_process';
import { beforeAll, describe, expect, it } from 'vitest';
import { ROOT, buildDist } from './fleet-procs.js';
import { isTemplate, quotedCommands } from './readme-commands.js';

const BENCH = /(npm run bench\b|\/dist\/bench\/)/;

const benchCommands = (): string[] => {
  const all = quotedCommands().map((c) => c.line).filter((l) => BENCH.test(l) && !isTemplate(l));
  const covered = all.includes('npm run bench');
  return all.filter((l) => !(covered && /^npm run bench -w \S+$/.test(l)));
};

beforeAll(() => buildDist(), 180_000);

describe('bench commands as typed (quick mode)', () => {
  const cmds = benchCommands();
  it('the docs quote bench commands', () => {
    expect(cmds).toContain('npm run bench');
    expect(cmds.some((c) => /--model packages\/toy\/demo-model/.test(c))).toBe(true);
  });
  for (const line of cmds) {
    it(line, () => {
      // coreutils timeout signals its whole process group, so a bench that hangs leaves no node
      // process behind (spawnSync's own timeout would kill only the shell).
      const r = spawnSync('timeout', ['-k', '10', '390', 'bash', '-c', line], { cwd: ROOT, encoding: 'utf8', timeout: 410_000, env: { ...process.env, MTV_BENCH_QUICK: '1', EGL_PLATFORM: 'surfaceless' } });
      expect(r.status, `${line}\n${r.stdout.slice(-2000)}\n${r.stderr.slice(-2000)}`).toBe(0);
      expect(`${r.stdout}${r.stderr}`).toMatch(/QUICK MODE/);
      expect(`${r.stdout}${r.stderr}`).toMatch(/load average .* end|end .*load average/);
    }, 420_000);
  }
});
