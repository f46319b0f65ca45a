#!/usr/bin/env node
// The GPU check (docs/GPU-CHECK.md), run by scripts/gpu-check.sh with the bundled node from the
// unpacked bundle's root: the adapter, the kernel + model tests on it, the kernel bench, attention at
// S = 1024 and 4096, the model bench on the ~110M checkpoint; a markdown table in <out>/RESULTS.md.
// Every step runs in its own process with a time limit; one that fails or times out leaves its rows
// as `not run: <reason>` and the others still run.
//   node scripts/gpu-check/run.mjs --out DIR [--quick] [--skip tests,kernel-bench,attention,model-bench]
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync, createWriteStream } from 'node:fs';
import { cpus, hostname, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { resultsMarkdown } from './table.mjs';

const root = fileURLToPath(new URL('../..', import.meta.url));
const argv = process.argv.slice(2);
const opt = (name) => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
};
const out = opt('--out') ?? join(root, 'gpu-check-results');
const quick = argv.includes('--quick');
const skip = new Set((opt('--skip') ?? '').split(',').filter(Boolean));
for (const s of skip) if (!['tests', 'kernel-bench', 'attention', 'model-bench'].includes(s)) throw new Error(`--skip ${s}: not a step (tests, kernel-bench, attention, model-bench)`);
mkdirSync(out, { recursive: true });
const log = (m) => process.stdout.write(`[gpu-check] ${new Date().toISOString().slice(11, 19)} ${m}\n`);

// Quick (--quick, the local try-out): tiny shapes, a test subset, short limits.
const ATTENTION_S = quick ? [64, 128] : [1024, 4096];
const MODEL_CASE = quick ? 'tiny clip-llama' : '~110M qwen-0.5b proportions';
const TEST_FILES = quick
  ? ['packages/kernels/test/matmul.test.ts', 'packages/kernels/test/rope.test.ts', 'packages/kernels/test/softmax.test.ts', 'packages/model/test/runtime.test.ts']
  : ['packages/kernels/test/', 'packages/model/test/'];
const LIMIT_S = quick ? { tests: 600, 'kernel-bench': 600, attention: 300, 'model-bench': 600 } : { tests: 1800, 'kernel-bench': 1200, attention: 600, 'model-bench': 1200 };

/** Runs node with args; stdout+stderr to `logFile` (and to ours); resolves { code, signal, timedOut, text }. */
function node(args, { logFile, limitS, env = {} }) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, { cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    const file = createWriteStream(logFile);
    let text = '';
    const take = (chunk) => {
      text += chunk;
      file.write(chunk);
      process.stdout.write(chunk);
    };
    child.stdout.on('data', take);
    child.stderr.on('data', take);
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, limitS * 1000);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      file.end();
      resolve({ code, signal, timedOut, text });
    });
  });
}
const failure = (r, limitS) => (r.timedOut ? `timed out after ${limitS} s` : `exited ${r.code ?? r.signal}: ${lastLines(r.text)}`);
const lastLines = (t) => t.trim().split('\n').filter((l) => !/^\s*at /.test(l)).slice(-2).join(' / ').slice(0, 300);

const data = { started: new Date().toISOString(), options: argv.join(' ') || 'defaults', host: `${hostname()}, ${cpus().length} CPUs, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, MTV_GPU_BACKEND=${process.env.MTV_GPU_BACKEND ?? 'auto'}` };
if (existsSync(join(root, 'BUNDLE.json'))) data.bundle = JSON.parse(readFileSync(join(root, 'BUNDLE.json'), 'utf8'));
const expected = { matmul: [], attentionS: ATTENTION_S, modelCase: MODEL_CASE };
const write = () => {
  data.finished = new Date().toISOString();
  writeFileSync(join(out, 'results.json'), JSON.stringify(data, null, 2));
  writeFileSync(join(out, 'RESULTS.md'), resultsMarkdown(data, expected));
};

// 1. The adapter, as @mtv/kernels acquires it (same env as every later step).
log('adapter');
{
  const probe = `
    const { acquireDevice } = await import('@mtv/kernels');
    const { create } = await import('webgpu');
    const d = await acquireDevice();
    const r = d.report;
    const deviceFeatures = [...d.device.features].sort();
    d.destroy();
    const flags = r.backend === 'default' ? [] : ['backend=' + r.backend];
    const a = await create(flags).requestAdapter({ featureLevel: r.featureLevel, powerPreference: 'high-performance' });
    console.log('ADAPTER ' + JSON.stringify({ ...r, deviceFeatures, features: a ? [...a.features].sort() : [] }));
    process.exit(0);`;
  const r = await node(['--input-type=module', '-e', probe], { logFile: join(out, 'adapter.log'), limitS: 120 });
  const line = r.text.split('\n').find((l) => l.startsWith('ADAPTER '));
  data.adapter = line ? JSON.parse(line.slice('ADAPTER '.length)) : { error: failure(r, 120) };
  if (data.adapter && !data.adapter.error) data.adapter.vulkanLoader = process.env.MTV_GPU_CHECK_VULKAN_LOADER ?? 'the host\'s';
  write();
}

// The matmul rows the bench will print (its shapes for this adapter), for the table's expected rows.
try {
  const { MATMUL_SHAPES } = await import(join(root, 'packages/kernels/dist/bench/matmul.bench.js'));
  for (const s of MATMUL_SHAPES(quick)) for (const dtype of s.dtypes) expected.matmul.push({ m: s.m, n: s.n, k: s.k, dtype });
} catch (e) {
  log(`could not read the bench's matmul shapes: ${e instanceof Error ? e.message : e}`);
}

// 2. The kernel and model tests on this adapter.
if (skip.has('tests')) data.tests = { error: 'skipped (--skip tests)' };
else {
  log(`tests: ${TEST_FILES.join(' ')}`);
  const json = join(out, 'tests.json');
  const t0 = Date.now();
  const r = await node([join(root, 'node_modules/vitest/vitest.mjs'), 'run', '--reporter=default', '--reporter=json', `--outputFile.json=${json}`, ...TEST_FILES], {
    logFile: join(out, 'tests.log'),
    limitS: LIMIT_S.tests,
    env: quick ? { MTV_TEST_SHAPES: process.env.MTV_TEST_SHAPES ?? 'small' } : {},
  });
  try {
    const res = JSON.parse(readFileSync(json, 'utf8'));
    const failures = [];
    for (const f of res.testResults ?? []) {
      for (const a of f.assertionResults ?? []) if (a.status === 'failed') failures.push(`${f.name.replace(root, '')} > ${a.fullName}`);
      if (f.status === 'failed' && (f.assertionResults ?? []).length === 0) failures.push(`${f.name.replace(root, '')}: ${String(f.message).split('\n')[0]}`);
    }
    data.tests = { passed: res.numPassedTests, failed: failures.length, skipped: res.numPendingTests ?? 0, seconds: (Date.now() - t0) / 1000, files: (res.testResults ?? []).length, failures: failures.slice(0, 40) };
    if (r.timedOut) data.tests.failures.push(`the run timed out after ${LIMIT_S.tests} s`);
  } catch {
    data.tests = { error: failure(r, LIMIT_S.tests) };
  }
  write();
}

// 3. The kernel bench (npm run bench -w @mtv/kernels), its matmul log lines parsed.
if (skip.has('kernel-bench')) data.matmul = { error: 'skipped (--skip kernel-bench)' };
else {
  log('kernel bench');
  const r = await node(['packages/kernels/dist/bench/index.js', ...(quick ? ['--quick'] : [])], { logFile: join(out, 'kernel-bench.txt'), limitS: LIMIT_S['kernel-bench'] });
  // `  1024x1024x1024 register 8x8 f32: 12.34 GFLOP/s (first use ...)`
  const rows = [];
  for (const l of r.text.split('\n')) {
    const m = /^\s*(\d+)x(\d+)x(\d+) (\S+) (\S+) (\S+): ([\d.]+) GFLOP\/s/.exec(l);
    if (m) rows.push({ m: +m[1], n: +m[2], k: +m[3], variant: m[4], pipeline: m[5], dtype: m[6], gflops: +m[7] });
  }
  data.matmul = rows.length > 0 ? rows : { error: r.code === 0 ? 'the bench printed no matmul rows this check can read (see kernel-bench.txt)' : failure(r, LIMIT_S['kernel-bench']) };
  if (rows.length > 0 && r.code !== 0) data.matmulNote = failure(r, LIMIT_S['kernel-bench']);
  write();
}

// 4. Attention at S = 1024 and 4096 (quick: 64 and 128).
if (skip.has('attention')) data.attention = { error: 'skipped (--skip attention)' };
else {
  log(`attention at S = ${ATTENTION_S.join(', ')}`);
  const r = await node(['scripts/gpu-check/attention.mjs', '--S', ATTENTION_S.join(','), '--repeats', quick ? '3' : '5'], { logFile: join(out, 'attention.json'), limitS: LIMIT_S.attention });
  const line = r.text.split('\n').find((l) => l.startsWith('{'));
  try {
    data.attention = JSON.parse(line);
  } catch {
    data.attention = { error: failure(r, LIMIT_S.attention) };
  }
  write();
}

// 5. The model bench on the ~110M checkpoint (quick: the tiny clip-llama one).
if (skip.has('model-bench')) data.model = { error: 'skipped (--skip model-bench)' };
else {
  log(`model bench: ${MODEL_CASE}`);
  const r = await node(['packages/model/dist/bench/index.js', '--case', MODEL_CASE], { logFile: join(out, 'model-bench.txt'), limitS: LIMIT_S['model-bench'] });
  // the row: name, params, weights on device, prompt tokens, prefill ms [min–max], prefill tok/s, decode tok/s
  const line = r.text.split('\n').find((l) => l.trim().startsWith(MODEL_CASE));
  const cells = line ? line.trim().slice(MODEL_CASE.length).trim().split(/\s+/) : [];
  if (line && cells.length >= 6) {
    const n = cells.length;
    data.model = { name: MODEL_CASE, params: cells[0], promptTokens: cells[3], prefillTokS: cells[n - 2], decodeTokS: cells[n - 1] };
  } else data.model = { error: r.code === 0 ? `no '${MODEL_CASE}' row in the bench output (see model-bench.txt)` : failure(r, LIMIT_S['model-bench']) };
  write();
}

write();
log(`results: ${join(out, 'RESULTS.md')}`);
process.stdout.write(`\n${readFileSync(join(out, 'RESULTS.md'), 'utf8')}`);
// exit status: 1 when there was no adapter or a test failed (or the test step broke); the benches only report
const bad = !data.adapter || data.adapter.error || (!skip.has('tests') && (!data.tests || data.tests.error || data.tests.failed > 0));
process.exit(bad ? 1 : 0);
