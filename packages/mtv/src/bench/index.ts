// Benchmarks of the model-bound MTV pipeline (report figures, never test assertions):
//   1. locate with prefix-shared batched rollouts vs the naive per-mask recompute (--naive), same
//      settings, same run: wall time and ratio (DESIGN.md section 2; target >= 10x on long prompts);
//   2. MTV per query (zero-shot prompt + head patch) vs 16-shot ICL per query: time and device memory
//      (the GPU pool's allocated bytes above the weights, and the KV cache bytes of the prompt).
// Model: --model DIR, else packages/toy/demo-model when present, else a tiny random checkpoint with a
// long instruction so the rollout prompts are LMM-sized (a real LMM image alone is 576-729 tokens).
//   node packages/mtv/dist/bench/index.js [--model DIR] [--steps 3] [--prompt-tokens 480] [--json]
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { Gpu, benchSession, exitOnBrokenPipe, callerPath, fmtStats, interleave, mapStats } from '@mtv/kernels';
import { loadModel, type VisionLanguageModel, writeTinyCheckpoint } from '@mtv/model';
import { loadDataset } from '../datasets/load.js';
import type { Dataset } from '../datasets/types.js';
import { extract } from '../extract/extract.js';
import { generateWith } from '../apply/apply.js';
import { evalShots } from '../evaluate/harness.js';
import { prepare, zeroShotPrompt } from '../pipeline/prompts.js';
import { buildPrompt } from '../prompts/formats.js';
import { locate } from '../rollouts/locate.js';
import { rolloutEvaluator } from '../rollouts/evaluators.js';
import { Prng } from '../sampling/prng.js';
import { encodeRgbPng } from './png.js';
import { benchLocators } from './locators.js';

const COLORS: Record<string, [number, number, number]> = { red: [220, 30, 30], green: [30, 200, 40], blue: [30, 40, 220], yellow: [230, 220, 40], white: [240, 240, 240], purple: [150, 40, 200] };

async function syntheticDataset(dir: string, n: number): Promise<Dataset> {
  await mkdir(join(dir, 'images'), { recursive: true });
  const names = Object.keys(COLORS);
  const lines: string[] = [];
  const rng = Prng.derive('bench-data');
  for (let i = 0; i < n; i++) {
    const color = names[rng.nextU32() % names.length]!;
    const [r, g, b] = COLORS[color]!;
    const px = new Uint8Array(16 * 16 * 3);
    for (let p = 0; p < 256; p++) px.set([r, g, b].map((c) => Math.max(0, Math.min(255, c + (rng.nextU32() % 21) - 10))), p * 3);
    await writeFile(join(dir, 'images', `${i}.png`), encodeRgbPng(16, 16, px));
    lines.push(JSON.stringify({ id: `b${i}`, image: `images/${i}.png`, question: 'What color is this?', answer: color }));
  }
  await writeFile(join(dir, 'data.jsonl'), lines.join('\n') + '\n');
  return loadDataset({ file: join(dir, 'data.jsonl'), format: 'jsonl' });
}

/** An instruction that brings the zero-shot prompt to about `tokens` tokens. */
async function longInstruction(model: VisionLanguageModel, data: Dataset, tokens: number): Promise<string> {
  const base = (await prepare(model, zeroShotPrompt('jsonl', data.examples[0]!, 0))).ids.length;
  const words = Math.max(0, tokens - base);
  return Array.from({ length: words }, (_, i) => ['the', 'image', 'of', 'a'][i % 4]).join(' ') + (words > 0 ? '\n' : '');
}

const seconds = async <T>(f: () => Promise<T>): Promise<[T, number]> => {
  const t = performance.now();
  const r = await f();
  return [r, (performance.now() - t) / 1000];
};

async function main(): Promise<void> {
  const opts = new Command('mtv-bench')
    .option('--model <dir>', 'model directory (default: packages/toy/demo-model, else a tiny checkpoint)')
    .option('--steps <n>', 'REINFORCE steps per locate run', (v) => Number(v), 3)
    .option('--prompt-tokens <n>', 'zero-shot rollout prompt length for the locate benchmark', (v) => Number(v), 480)
    .option('--icl-shots <n>', 'shots of the ICL baseline', (v) => Number(v), 16)
    .option('--queries <n>', 'queries timed per inference mode', (v) => Number(v), 3)
    .option('--repeats <n>', 'interleaved prefix/naive locate pairs (median [min–max], ratio pair by pair)', (v) => Number(v), 5)
    .option('--json', 'JSON on stdout')
    .option('--quick', 'tiny sizes for the bench-commands test (figures not for the record)')
    .option('--locators', 'instead: every head locator on the demo model over three demo tasks, one table (accuracy + search cost)')
    .option('--rounds <n>', '--locators: extraction rounds', (v) => Number(v), 100)
    .option('--eval-n <n>', '--locators: eval queries per mode', (v) => Number(v), 200)
    .option('--reinforce-steps <n>', '--locators: REINFORCE steps (default 600, the paper\'s)', (v) => Number(v), 600)
    .parse()
    .opts<{ model?: string; steps: number; promptTokens: number; iclShots: number; queries: number; repeats: number; json?: boolean; quick?: boolean; locators?: boolean; rounds: number; evalN: number; reinforceSteps: number }>();
  const session = benchSession('@mtv/mtv bench', (s) => void process.stderr.write(`${s}\n`));
  if (opts.locators) {
    try {
      const quick = session.quick || (opts.quick ?? false);
      const r = await benchLocators({
        ...(opts.model ? { model: callerPath(opts.model) } : {}), rounds: quick ? 8 : opts.rounds, evalN: quick ? 6 : opts.evalN, steps: quick ? 2 : opts.reinforceSteps, quick,
        log: (s) => void process.stderr.write(`${s}\n`),
      });
      process.stdout.write(opts.json ? `${JSON.stringify(r.rows)}\n` : `${r.table}\n`);
    } finally {
      session.end();
    }
    return;
  }
  if (session.quick) Object.assign(opts, { steps: 1, promptTokens: 32, iclShots: 2, queries: 2, repeats: 2 });
  if (opts.model) opts.model = callerPath(opts.model);
  const demo = fileURLToPath(new URL('../../../toy/demo-model', import.meta.url));
  const tmp = await mkdtemp(join(tmpdir(), 'mtv-bench-'));
  const log = (s: string): void => void process.stderr.write(`${s}\n`);
  try {
    let modelDir = opts.model ?? (existsSync(join(demo, 'config.json')) ? demo : null);
    let modelKind = modelDir === demo ? 'demo model' : 'given model';
    if (!modelDir) {
      modelDir = join(tmp, 'tiny');
      await writeTinyCheckpoint(modelDir, { family: 'clip-llama', seed: 1 });
      modelKind = 'tiny random clip-llama checkpoint';
    }
    const gpu = await Gpu.create();
    const model = await loadModel(modelDir, { gpu, weightDtype: 'f32' });
    const data = await syntheticDataset(join(tmp, 'data'), 40);
    const maxPos = model.config.text.maxPositionEmbeddings;
    log(`model: ${modelKind} (${modelDir}), heads ${model.headShape.join('x')}, context ${maxPos}, adapter ${gpu.report.cpuAdapter ? 'cpu' : 'gpu'}`);

    // ---- 1. locate: prefix-shared batched rollouts vs naive ----
    const pipes0 = gpu.pipelineCount;
    const tEx = performance.now();
    const means = (await extract(model, data, { seed: 0, shots: 2, rounds: 4, shardSize: 2 })).means();
    const variants = (names: string[]): string => {
      const by = new Map<string, number>();
      for (const n of names) {
        const k = n.split(/[:_ ]/)[0]!;
        by.set(k, (by.get(k) ?? 0) + 1);
      }
      return [...by].map(([k, v]) => `${k} ${v}`).join(', ');
    };
    log(`JIT: the first extract (4 rounds, model just loaded) took ${((performance.now() - tEx) / 1000).toFixed(2)} s and compiled ${gpu.pipelineCount - pipes0} pipeline variants (${variants(gpu.pipelineNames.slice(pipes0))})`);
    const instruction = await longInstruction(model, data, Math.min(opts.promptTokens, maxPos - 8));
    const prompt = { instruction };
    const rolloutTokens = (await prepare(model, zeroShotPrompt('jsonl', data.examples[0]!, 0, prompt))).ids.length;
    const cfg = { seed: 0, steps: opts.steps, samplesPerStep: 32, validateEvery: 0, finalSamples: 1, reinforceSize: 8, selectionSize: 1, prompt };
    // Warm-up: compile every pipeline of both paths once, outside the timings.
    const [L, H] = model.headShape;
    for (const mode of ['prefix', 'naive'] as const) await rolloutEvaluator(model, { format: 'jsonl', means, mode, prompt })({ item: data.examples[0]!, index: 0, variant: 0 }, [new Uint8Array(L * H).fill(1), new Uint8Array(L * H)]);
    log(`JIT: after the locate warm-up (both rollout modes) ${gpu.pipelineCount} pipeline variants in all (${variants(gpu.pipelineNames)})`);
    log(`locate: ${opts.steps} steps x 32 masks, rollout prompt ${rolloutTokens} tokens ...`);
    // The shared method: prefix and naive interleaved, ratio pair by pair (warm-up done above).
    const ab = await interleave(async () => void (await locate(model, data, means, cfg)), async () => void (await locate(model, data, means, { ...cfg, mode: 'naive' })), { warmup: 0, pairs: opts.repeats, quick: session.quick });
    const tPrefix = ab.a.median / 1000;
    const tNaive = ab.b.median / 1000;
    log(`  prefix-shared batched: ${fmtStats(mapStats(ab.a, (v) => v / 1000), 2, ' s')} (${opts.repeats} interleaved pairs)`);
    log(`  naive recompute:       ${fmtStats(mapStats(ab.b, (v) => v / 1000), 2, ' s')}  -> ratio ${fmtStats(ab.ratio, 1, 'x')} (pair by pair)`);

    // ---- 2. MTV per query vs k-shot ICL per query ----
    const heads = new Uint8Array(L * H).fill(1);
    const [, , D] = model.headShape;
    const kvHeads = model.config.text.numKvHeads;
    const kvBytes = (tokens: number): number => 2 * L * tokens * kvHeads * D * 4;
    const measure = async (label: string, shots: number, patch: boolean): Promise<{ label: string; shots: number; promptTokens: number; secondsPerQuery: number; poolBytes: number; kvBytes: number }> => {
      let tokens = 0;
      let total = 0;
      let pool = 0;
      for (let i = 0; i < opts.queries; i++) {
        const query = data.examples[data.examples.length - 1 - i]!;
        const p = buildPrompt('jsonl', { shots: evalShots(data.examples, query, shots, 0, i), query, variant: 0 });
        const prepared = await prepare(model, p);
        tokens = Math.max(tokens, prepared.ids.length);
        if (prepared.ids.length + 4 > maxPos) throw new Error(`${label}: ${prepared.ids.length} prompt tokens exceed the context ${maxPos}; lower --icl-shots`);
        gpu.trimPool(); // the pool keeps buffers, so allocatedBytes after the call is this query's peak
        const before = gpu.allocatedBytes;
        const [, t] = await seconds(() => generateWith(model, prepared, patch ? { means, heads } : null, { maxNewTokens: 4 }));
        pool = Math.max(pool, gpu.allocatedBytes - before);
        if (i > 0 || opts.queries === 1) total += t; // the first query also compiles pipelines
      }
      return { label, shots, promptTokens: tokens, secondsPerQuery: total / Math.max(1, opts.queries - 1), poolBytes: pool, kvBytes: kvBytes(tokens + 4) };
    };
    const mtv = await measure('MTV (zero-shot + patch)', 0, true);
    const icl = await measure(`${opts.iclShots}-shot ICL`, opts.iclShots, false);
    for (const r of [mtv, icl]) log(`${r.label}: ${r.promptTokens} prompt tokens, ${(1000 * r.secondsPerQuery).toFixed(0)} ms/query (4 new tokens), pool +${(r.poolBytes / 2 ** 20).toFixed(2)} MiB, KV ${(r.kvBytes / 2 ** 20).toFixed(2)} MiB`);
    log(`ICL / MTV: time ${(icl.secondsPerQuery / mtv.secondsPerQuery).toFixed(1)}x, pool memory ${(icl.poolBytes / Math.max(1, mtv.poolBytes)).toFixed(1)}x, KV ${(icl.kvBytes / mtv.kvBytes).toFixed(1)}x`);
    const result = {
      model: modelKind, heads: model.headShape, weightsBytes: gpu.persistentBytes,
      locate: { steps: opts.steps, samplesPerStep: 32, rolloutTokens, prefixSeconds: tPrefix, naiveSeconds: tNaive, ratio: tNaive / tPrefix },
      inference: { mtv, icl, timeRatio: icl.secondsPerQuery / mtv.secondsPerQuery, poolRatio: icl.poolBytes / Math.max(1, mtv.poolBytes), kvRatio: icl.kvBytes / mtv.kvBytes },
    };
    if (opts.json) process.stdout.write(`${JSON.stringify(result)}\n`);
    await model.close();
    gpu.destroy();
  } finally {
    await rm(tmp, { recursive: true, force: true });
    session.end();
  }
}

exitOnBrokenPipe();
await main();
