// The installed `mtv` command: `mtv coordinator` reaches the coordinator, other subcommands reach
// @mtv/mtv's CLI. Runs the built bin (npm test builds first).
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const BIN = fileURLToPath(new URL('../dist/cli/mtv.js', import.meta.url));
const run = (...args: string[]) => spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env: { ...process.env, EGL_PLATFORM: 'surfaceless' } });

describe('mtv bin', () => {
  it('dispatches `coordinator` to the coordinator command', () => {
    const r = run('coordinator', '--help');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/serve MTV fleet workers over WebSocket/);
  });

  it('dispatches other subcommands to the MTV CLI, with its one-line errors', () => {
    expect(run('inspect', '--help').stdout).toMatch(/Usage: mtv inspect/);
    const r = run('inspect', '/nonexistent/artifact.safetensors');
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/mtv: error: MTV artifact \/nonexistent\/artifact\.safetensors: cannot open/);
  });
});
