// `mtv coordinator` refuses outputs that would overwrite inputs, before it listens (issue 11 item 4):
// the shared check of @mtv/mtv (src/io/output-path.ts) on --out and --json.
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCoordinatorCli } from '../src/cli/coordinator-command.js';

let dir = '';
let data = '';
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mtv-coord-out-'));
  data = join(dir, 'train.jsonl');
  await writeFile(data, '{"image":"a.png","question":"q","answer":"a"}\n');
  await mkdir(join(dir, 'state'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

const base = (): string[] => ['--port', '0', '--data', data, '--model-hash', 'sha256:x', '--geometry', '1,1,4', '--state', join(dir, 'state'), '--quiet', '--no-progress'];

describe('mtv coordinator outputs', () => {
  it('--out equal to --data is refused before listening; the dataset is untouched', async () => {
    await expect(runCoordinatorCli([...base(), '--out', data])).rejects.toThrow(/--out .*train\.jsonl is the input --data/);
    expect(await readFile(data, 'utf8')).toMatch(/"question"/);
  });

  it('--json equal to --out, --out over the checkpoint, and --resume with --fresh are refused', async () => {
    const out = join(dir, 'x.safetensors');
    await expect(runCoordinatorCli([...base(), '--out', out, '--json', out])).rejects.toThrow(/same file as --out/);
    await expect(runCoordinatorCli([...base(), '--out', join(dir, 'state', 'job-state.msgpack')])).rejects.toThrow(/is the input --state \(its checkpoint\)/);
    await expect(runCoordinatorCli([...base(), '--resume', '--fresh'])).rejects.toThrow(/not both/);
  });
});
