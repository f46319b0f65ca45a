// Every README command works as typed (issue 11 item 9). Two levels:
//  1. every command line quoted in the READMEs and BENCHMARKS.md (test/readme-commands.ts) names
//     something that exists: the `node <file>.js` script (built), the `npm run <script>` of the root
//     or of its -w workspace, the `npx <bin>` linked into node_modules/.bin;
//  2. a listed subset runs as typed from the repository root (or a directory with a `packages` link
//     to it, so outputs stay out of the checkout), within a small budget:
//     - `npx mtv --help`, `npx mtv-worker --help`, `npx mtv-coordinator --help` (bins linked);
//     - `npm start -- --help` lists --resume and --fresh, and leaves package-lock.json unchanged;
//     - the packages/mtv/README.md walk-through: both `tasks.js export` lines and `inspect` exactly
//       as typed; `run` and `eval` as typed plus small-size overrides appended (commander keeps the
//       last value), so they take seconds, not a minute (their full figures are in that README).
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, buildDist } from './fleet-procs.js';
import { isTemplate, quotedCommands } from './readme-commands.js';

const sh = (line: string, cwd = ROOT, timeout = 120_000) => spawnSync('bash', ['-c', line], { cwd, encoding: 'utf8', timeout, env: { ...process.env, EGL_PLATFORM: 'surfaceless' } });

let scratch = '';
beforeAll(async () => {
  buildDist();
  scratch = await mkdtemp(join(tmpdir(), 'mtv-readme-'));
  await symlink(join(ROOT, 'packages'), join(scratch, 'packages'));
}, 180_000);
afterAll(() => rm(scratch, { recursive: true, force: true }));

const pkgOf = (ws: string | undefined): { scripts?: Record<string, string> } => {
  if (!ws) return JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
  for (const dir of ['packages/kernels', 'packages/model', 'packages/mtv', 'packages/toy', 'packages/coordinator', 'apps/worker', 'test']) {
    const p = JSON.parse(readFileSync(join(ROOT, dir, 'package.json'), 'utf8')) as { name: string };
    if (p.name === ws) return p;
  }
  throw new Error(`no workspace ${ws}`);
};

describe('README commands', () => {
  it('every quoted command names a built script, a package script or a linked bin', () => {
    const cmds = quotedCommands();
    expect(cmds.length).toBeGreaterThan(15);
    const bad: string[] = [];
    for (const { doc, line } of cmds) {
      const w = line.split(' ');
      if (w[0] === 'node' && w[1] && w[1].endsWith('.js') && !w[1].startsWith('/tmp')) {
        if (!existsSync(join(ROOT, w[1]))) bad.push(`${doc}: ${line}: ${w[1]} does not exist`);
      } else if (w[0] === 'npm' && (w[1] === 'run' || w[1] === 'start' || w[1] === 'test')) {
        const script = w[1] === 'run' ? w[2]! : w[1];
        const wi = w.indexOf('-w');
        const pkg = pkgOf(wi > 0 ? w[wi + 1] : undefined);
        if (!pkg.scripts?.[script]) bad.push(`${doc}: ${line}: no script '${script}'`);
      } else if (w[0] === 'npx' && !isTemplate(line)) {
        if (!existsSync(join(ROOT, 'node_modules/.bin', w[1]!)) && !['tsc', 'vitest', 'turbo'].includes(w[1]!)) bad.push(`${doc}: ${line}: ${w[1]} is not in node_modules/.bin`);
      }
    }
    expect(bad).toEqual([]);
  });

  it('npx mtv, npx mtv-worker, npx mtv-coordinator run from the repository root', () => {
    for (const [bin, re] of [['mtv', /Usage: mtv/], ['mtv-worker', /Usage: mtv-worker/], ['mtv-coordinator', /--resume/]] as const) {
      const r = sh(`npx ${bin} --help`);
      expect(r.status, `${bin}: ${r.stderr}`).toBe(0);
      expect(r.stdout).toMatch(re);
    }
  });

  it('npm start -- --help offers --resume and --fresh and leaves package-lock.json unchanged', () => {
    const before = readFileSync(join(ROOT, 'package-lock.json'));
    const r = sh('npm start -- --help', ROOT, 300_000);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/--resume/);
    expect(r.stdout).toMatch(/--fresh/);
    expect(readFileSync(join(ROOT, 'package-lock.json')).equals(before)).toBe(true);
  }, 300_000);

  it('the packages/mtv/README.md walk-through, as typed (run and eval with small sizes appended)', () => {
    const walk = quotedCommands(['packages/mtv/README.md']).map((c) => c.line);
    const pick = (re: RegExp): string => {
      const l = walk.find((x) => re.test(x));
      if (!l) throw new Error(`packages/mtv/README.md no longer quotes ${re}`);
      return l;
    };
    const steps = [
      pick(/tasks\.js export .*--out train/),
      pick(/tasks\.js export .*--out test/),
      `${pick(/main\.js run -m packages\/toy\/demo-model/)} --rounds 2 --steps 1 --samples 4 -q`,
      pick(/main\.js inspect shape\.safetensors/),
      `${pick(/main\.js eval -m packages\/toy\/demo-model .*--modes zero-shot,icl,mtv,mtv\+icl/)} -n 4 -q`,
    ];
    for (const line of steps) {
      const r = sh(line, scratch);
      expect(r.status, `${line}\n${r.stderr}`).toBe(0);
    }
    expect(existsSync(join(scratch, 'shape.safetensors'))).toBe(true);
  }, 300_000);
});
