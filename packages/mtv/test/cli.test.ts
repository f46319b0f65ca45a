// The `mtv` CLI in-process (main(argv, io) returns the exit code): every subcommand with --json, the
// text outputs, --help, and the bad-input cases (one clear line on stderr, non-zero exit).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { cp, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Gpu } from '@mtv/kernels';
import { loadModel, writeTinyCheckpoint } from '@mtv/model';
import { ActivationSums, readArtifact, writeArtifact } from '../src/index.js';
import { makeFixture, runCli, poisonTensor, type Fixture } from './e2e-fixture.js';

let fx: Fixture;
let gpu: Gpu;

beforeAll(async () => {
  fx = await makeFixture({ n: 10 });
  gpu = await Gpu.create();
});

afterAll(async () => {
  gpu?.destroy();
  await fx?.cleanup();
});

const run = (...argv: string[]): Promise<{ code: number; out: string; err: string }> => runCli(gpu, argv);

const art = (name: string): string => join(fx.root, name);
const common = (): string[] => ['--model', fx.modelDir, '--data', fx.qaFile, '--format', 'jsonl'];

/** A failure: non-zero exit, nothing on stdout, exactly one line on stderr matching `re`. */
function expectOneLineError(r: { code: number; out: string; err: string }, re: RegExp): void {
  expect(r.code, r.err).not.toBe(0);
  expect(r.out).toBe('');
  const lines = r.err.trimEnd().split('\n');
  expect(lines, r.err).toHaveLength(1);
  expect(lines[0]).toMatch(/^mtv: error: /);
  expect(lines[0]).toMatch(re);
}

describe('mtv CLI', () => {
  it('--help lists the subcommands; subcommand help lists its options', async () => {
    const r = await run('--help');
    expect(r.code).toBe(0);
    for (const c of ['extract', 'locate', 'run', 'eval', 'apply', 'inspect']) expect(r.out).toMatch(new RegExp(`\\b${c}\\b`));
    const e = await run('extract', '--help');
    expect(e.code).toBe(0);
    expect(e.out).toMatch(/--shard-size/);
    expect(e.out).toMatch(/--json/);
  });

  it('extract -> locate -> inspect -> eval -> apply, with --json', async () => {
    const x = await run('extract', ...common(), '--shots', '2', '--rounds', '3', '--shard-size', '2', '--out', art('a.safetensors'), '--json');
    expect(x.code, x.err).toBe(0);
    const xj = JSON.parse(x.out) as { count: number; heads: number | null; shape: number[] };
    expect(xj).toMatchObject({ count: 3, heads: null, shape: [2, 4, 16] });

    const l = await run('locate', ...common(), '--artifact', art('a.safetensors'), '--out', art('b.safetensors'), '--steps', '2', '--samples', '4',
      '--validate-every', '1', '--validation-size', '2', '--final-samples', '2', '--reinforce-size', '4', '--selection-size', '2', '--json');
    expect(l.code, l.err).toBe(0);
    const lj = JSON.parse(l.out) as { heads: number; mask: number[]; provenance: { heads: string } };
    expect(lj.mask).toHaveLength(8);
    expect(lj.heads).toBe(lj.mask.reduce((a, b) => a + b, 0));
    expect(lj.provenance.heads).toBe('located');
    const back = await readArtifact(art('b.safetensors'));
    expect(Array.from(back.heads!)).toEqual(lj.mask);

    const ij = JSON.parse((await run('inspect', art('b.safetensors'), '--json')).out) as { heads: number[][]; count: number; probabilities: number[] };
    expect(ij.heads).toEqual([lj.mask.slice(0, 4), lj.mask.slice(4)]);
    expect(ij.probabilities).toHaveLength(8);
    const it = await run('inspect', art('b.safetensors'), '--model', fx.modelDir);
    expect(it.code, it.err).toBe(0);
    expect(it.out).toMatch(/3 rounds/);
    expect(it.out).toMatch(/^layer 0 [#.]{4}\s+\d$/m);
    expect(it.out).toMatch(/^layer 1 [#.]{4}\s+\d$/m);

    const preds = art('preds.jsonl');
    const ev = await run('eval', ...common(), '--artifact', art('b.safetensors'), '--shots', '2', '-n', '2', '--max-new-tokens', '2', '--predictions', preds, '--json');
    expect(ev.code, ev.err).toBe(0);
    const evj = JSON.parse(ev.out) as { summaries: { mode: string; n: number }[] };
    expect(evj.summaries.map((s) => [s.mode, s.n])).toEqual([['zero-shot', 2], ['icl', 2], ['mtv', 2], ['mtv+icl', 2]]);
    const lines = (await readFile(preds, 'utf8')).trim().split('\n').map((s) => JSON.parse(s) as { mode: string; prediction: string });
    expect(lines).toHaveLength(8);
    const evText = await run('eval', ...common(), '--modes', 'zero-shot', '-n', '1', '--max-new-tokens', '1');
    expect(evText.out).toMatch(/^mode\s+shots\s+metric\s+n\s+accuracy\s+95% interval$/m);

    const q = fx.qa.examples[0]!;
    const ap = await run('apply', '--model', fx.modelDir, '--artifact', art('b.safetensors'), '--question', q.kind === 'qa' ? q.question : '', '--image', q.images[0]!, '--compare', '--max-new-tokens', '3', '--json');
    expect(ap.code, ap.err).toBe(0);
    const apj = JSON.parse(ap.out) as { mtv: { ids: number[] }; zeroShot: { ids: number[] }; prompt: string };
    expect(apj.prompt).toMatch(/^<image>.* Answer:$/);
    expect(apj.mtv.ids.length).toBeLessThanOrEqual(3);
  });

  it('run writes a located artifact in one go', async () => {
    const r = await run('run', ...common(), '--shots', '1', '--rounds', '2', '--shard-size', '1', '--steps', '1', '--samples', '2',
      '--validate-every', '0', '--final-samples', '1', '--reinforce-size', '2', '--selection-size', '1', '--out', art('r.safetensors'), '--quiet');
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/wrote .*r\.safetensors: 2 rounds, heads \[2, 4, 16\], \d+ of 8 heads chosen/);
    expect(existsSync(art('r.safetensors'))).toBe(true);
  });

  describe('bad input: one line, non-zero exit', () => {
    it('unknown format', async () => {
      expectOneLineError(await run('extract', '--model', fx.modelDir, '--data', fx.qaFile, '--format', 'csv', '--out', art('x.safetensors')), /unknown format 'csv'; formats: jsonl, vizwiz/);
    });

    it('empty dataset', async () => {
      const empty = join(fx.root, 'qa', 'empty.jsonl');
      await writeFile(empty, '');
      expectOneLineError(await run('extract', '--model', fx.modelDir, '--data', empty, '--format', 'jsonl', '--out', art('x.safetensors')), /empty\.jsonl: dataset is empty/);
    });

    it('fewer examples than shots', async () => {
      expectOneLineError(await run('extract', ...common(), '--shots', '12', '--out', art('x.safetensors')), /12 shots \+ 1 query need 13 distinct examples, but .*task-inference\.jsonl has only 10/);
    });

    it('corrupt artifact header', async () => {
      const bad = art('corrupt.safetensors');
      await writeFile(bad, Buffer.concat([Buffer.from([200, 0, 0, 0, 0, 0, 0, 0]), Buffer.from('{"means": {"dtype": "F3')]));
      expectOneLineError(await run('inspect', bad), /MTV artifact .*corrupt\.safetensors: unreadable safetensors/);
    });

    it('artifact of another model', async () => {
      const other = join(fx.root, 'other-model');
      await writeTinyCheckpoint(other, { family: 'clip-llama', seed: 99 });
      expectOneLineError(await run('inspect', art('b.safetensors'), '--model', other), /was built for model model \(hash [0-9a-f]{16}\.\.\.\), not for this model/);
    });

    it('artifact with the wrong head shape for this model', async () => {
      const model = await loadModel(fx.modelDir, { gpu });
      const sums = new ActivationSums([2, 4, 8]).add(new Float32Array(64).fill(1));
      const hash = await model.hash();
      await model.close();
      await writeArtifact(art('shape.safetensors'), { sums, logits: null, heads: new Uint8Array(8), provenance: { modelId: 'model', modelHash: hash, codeVersion: '0', runs: [], heads: 'located' } });
      expectOneLineError(await run('eval', ...common(), '--artifact', art('shape.safetensors'), '--modes', 'mtv', '-n', '1'), /activation shape \[2, 4, 8\] does not match the model's \[layers, heads, headDim\] = \[2, 4, 16\]/);
    });

    it('NaN activations name the round, layer and head', async () => {
      const dir = join(fx.root, 'nan-model');
      await cp(fx.modelDir, dir, { recursive: true });
      // Finite f32 weights that overflow in the attention (non-finite weights are refused at load, below).
      await poisonTensor(dir, /layers\.0\.self_attn\.v_proj\.weight$/, 3e38);
      expectOneLineError(await run('extract', '--model', dir, '--weights', 'f32', '--data', fx.qaFile, '--format', 'jsonl', '--shots', '1', '--rounds', '1', '--out', art('x.safetensors')),
        /extract: round 0 \(query .*\): ActivationSums\.add: non-finite value (NaN|-?Infinity) at layer 0, head 0, dim 0/);
      // ... and as f16 weights they overflow at load, named (issue 11 item 6).
      expectOneLineError(await run('extract', '--model', dir, '--data', fx.qaFile, '--format', 'jsonl', '--shots', '1', '--rounds', '1', '--out', art('x.safetensors')),
        /tensor '.*layers\.0\.self_attn\.v_proj\.weight': element 0 of \d+ .* is [\d.]+e\+38, which overflows f16 when rounded/);
    });

    it('NaN or Inf weights are refused at load, naming the tensor, before any work (issue 11 item 6)', async () => {
      const dir = join(fx.root, 'inf-model');
      await cp(fx.modelDir, dir, { recursive: true });
      const name = await poisonTensor(dir, /layers\.1\.mlp\.up_proj\.weight$/, Number.NaN);
      for (const weights of ['f16', 'f32']) {
        expectOneLineError(await run('eval', '--model', dir, '--weights', weights, '--data', fx.qaFile, '--format', 'jsonl', '--modes', 'zero-shot', '-n', '2'),
          new RegExp(`model\\.safetensors: tensor '${name.replace(/\./g, '\\.')}': element 0 of \\d+ \\(shape .*\\) is NaN; weights must be finite`));
      }
    });

    it('mtv modes without an artifact, artifact without heads, bad option values', async () => {
      expectOneLineError(await run('eval', ...common(), '--modes', 'mtv', '-n', '1'), /modes mtv need --artifact/);
      expectOneLineError(await run('apply', '--model', fx.modelDir, '--artifact', art('a.safetensors'), '--prompt', 'what ? Answer:'), /has no heads \(run `mtv locate` first\)/);
      const r = await run('extract', ...common(), '--rounds', 'many', '--out', art('x.safetensors'));
      expect(r.code).not.toBe(0);
      expect(r.err.trim().split('\n')).toHaveLength(1);
      expect(r.err).toMatch(/--rounds <n>' argument 'many' is invalid\. expected an integer >= 1/);
    });
  });
});
