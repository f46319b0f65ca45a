// Shared fixture of the model-bound tests: a tiny random LLaVA checkpoint (@mtv/model) and small toy
// datasets exported with @mtv/toy's writeDataset (imported by relative path: @mtv/mtv's src must not
// depend on @mtv/toy).
import { mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { Gpu } from '@mtv/kernels';
import { loadModel, type VisionLanguageModel, SafetensorsFile, writeTinyCheckpoint, type TinyFamily } from '@mtv/model';
import { writeDataset } from '../../toy/src/index.js';
import { loadDataset, runMtvCli, type Dataset } from '../src/index.js';

export interface Fixture {
  readonly root: string;
  readonly modelDir: string;
  /** task-inference exported as generic JSONL (answers lists -> VQA accuracy). */
  readonly qaFile: string;
  readonly qa: Dataset;
  cleanup(): Promise<void>;
}

export async function makeFixture(opts: { family?: TinyFamily; n?: number; seed?: number } = {}): Promise<Fixture> {
  const root = await mkdtemp(join(tmpdir(), 'mtv-e2e-'));
  const modelDir = join(root, 'model');
  await writeTinyCheckpoint(modelDir, { family: opts.family ?? 'clip-llama', seed: opts.seed ?? 3 });
  const dataDir = join(root, 'qa');
  await writeDataset(dataDir, 'task-inference', opts.n ?? 16, 7, { format: 'jsonl' });
  const qaFile = join(dataDir, 'task-inference.jsonl');
  const qa = await loadDataset({ file: qaFile, format: 'jsonl' });
  return { root, modelDir, qaFile, qa, cleanup: () => rm(root, { recursive: true, force: true }) };
}

/** A fixture with a device and its checkpoint loaded (f32 weights), as the model-bound tests share it. */
export interface ModelFixture {
  fx: Fixture;
  gpu: Gpu;
  model: VisionLanguageModel;
}

type FixtureOptions = Parameters<typeof makeFixture>[0];

/** makeFixture + Gpu.create + VisionLanguageModel.load; frees what it made when a later step fails. */
export async function openModelFixture(opts: FixtureOptions): Promise<ModelFixture> {
  const fx = await makeFixture(opts);
  let gpu: Gpu | undefined;
  try {
    gpu = await Gpu.create();
    return { fx, gpu, model: await loadModel(fx.modelDir, { gpu, weightDtype: 'f32' }) };
  } catch (e) {
    await closeModelFixture({ fx, gpu });
    throw e;
  }
}

/** Frees in reverse order of opening; fields left unset (a failed beforeAll) are skipped. */
export async function closeModelFixture(m: Partial<ModelFixture>): Promise<void> {
  await m.model?.close();
  m.gpu?.destroy();
  await m.fx?.cleanup();
}

/** Overwrites one F32 tensor of a single-file checkpoint with `value` in place (e.g. NaN weights). */
export async function poisonTensor(modelDir: string, pattern: RegExp, value: number): Promise<string> {
  const file = join(modelDir, 'model.safetensors');
  const st = await SafetensorsFile.open(file);
  const name = st.names().find((n) => pattern.test(n));
  if (!name) throw new Error(`poisonTensor: no tensor matches ${pattern} in ${file}`);
  const info = st.info(name);
  if (info.dtype !== 'F32') throw new Error(`poisonTensor: ${name} is ${info.dtype}, not F32`);
  const start = st.header.dataStart + info.begin;
  const bytes = new Uint8Array(new Float32Array((info.end - info.begin) / 4).fill(value).buffer);
  await st.close();
  const fh = await open(file, 'r+');
  try {
    await fh.write(bytes, 0, bytes.length, start);
  } finally {
    await fh.close();
  }
  return name;
}

/** Runs the `mtv` CLI in-process on `gpu`, capturing its exit code, stdout and stderr. */
export async function runCli(gpu: Gpu, argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (d: Buffer) => { out += d.toString(); });
  stderr.on('data', (d: Buffer) => { err += d.toString(); });
  const code = await runMtvCli(argv, { stdout, stderr, gpu });
  return { code, out, err };
}
