#!/usr/bin/env node
// Runs the whole vitest suite, then the GPU tests a second time on a conformant Vulkan driver
// (SwiftShader, core feature level: the Vulkan pass), then prints a plain `N passed, N failed`
// line (what CI reads) that counts both passes.
//
// The Vulkan pass (docs/GPU-CHECK.md): the kernel tests and the model runtime (GPU vs float64
// reference) tests with MTV_GPU_BACKEND=vulkan and VK_ICD_FILENAMES pointing at the SwiftShader ICD
// that Debian's chromium package ships, and MTV_TEST_SHAPES=small (tests that read
// sizedForTests() shrink). No Vulkan driver is registered globally, so every other run (npm start,
// training, the first pass) stays on llvmpipe GLES. MTV_TEST_VULKAN=0 leaves the pass out (said so in
// the output); MTV_TEST_VULKAN=1 runs it even when file filters are given (over the same filters),
// MTV_TEST_VULKAN=all adds the other model families' runtime tests;
// MTV_VK_ICD=<icd.json> picks another Vulkan driver for it.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

const root = fileURLToPath(new URL('..', import.meta.url));
mkdirSync(join(root, '.test-results'), { recursive: true });
const vitest = join(root, 'node_modules', 'vitest', 'vitest.mjs');
const run = (args, json, env = process.env) =>
  spawnSync(process.execPath, [vitest, 'run', '--reporter=default', '--reporter=json', `--outputFile.json=${json}`, ...args], {
    cwd: root,
    stdio: 'inherit',
    env: { ...env, EGL_PLATFORM: env.EGL_PLATFORM ?? 'surfaceless' },
  });

/** passed / failed of one vitest JSON report, and the files none of whose tests ran (their worker died). */
function tally(json) {
  const res = JSON.parse(readFileSync(json, 'utf8'));
  let failed = res.numFailedTests + (res.numRuntimeErrors ?? 0);
  // A test file that fails to load counts as a failure even if it declared no tests.
  for (const f of res.testResults ?? []) if (f.status === 'failed' && (f.assertionResults ?? []).length === 0) failed += 1;
  const unrun = (res.testResults ?? [])
    .filter((f) => (f.assertionResults ?? []).length > 0 && f.assertionResults.every((a) => a.status === 'pending'))
    .map((f) => f.name);
  return { passed: res.numPassedTests, failed, unrun, skipped: res.numPendingTests ?? 0 };
}

/** One vitest pass over `args` with `env`; results in .test-results/<name>.json. */
function pass(name, args, env) {
  const out = join(root, '.test-results', `${name}.json`);
  const r = run(args, out, env);
  let passed = 0;
  let failed = 0;
  let skipped = 0;
  try {
    const t = tally(out);
    passed = t.passed;
    failed = t.failed;
    skipped = t.skipped;
    // A vitest worker that exits unexpectedly (a native crash in the GPU driver stack) leaves its
    // file's tests never run and the run failed with no failing test. Those files, and only those,
    // run once more; their results count, and the crash is reported, never hidden.
    if (r.status !== 0 && failed === 0 && t.unrun.length > 0) {
      console.log(`\nWARNING: a test worker exited unexpectedly; ${t.unrun.length} file(s) never ran: ${t.unrun.join(', ')}. Running them once more.`);
      const again = join(root, '.test-results', `${name}-rerun.json`);
      const r2 = run(t.unrun, again, env);
      const t2 = tally(again);
      passed += t2.passed;
      failed += t2.failed + (r2.status !== 0 && t2.failed === 0 ? 1 : 0);
      skipped += t2.skipped;
      console.log(`rerun of the files whose worker crashed: ${t2.passed} passed, ${t2.failed} failed`);
      if (failed === 0) r.status = 0;
    }
  } catch {
    failed = Math.max(1, failed);
  }
  if (r.status !== 0 && failed === 0) failed = 1;
  return { passed, failed, skipped };
}

// The Vulkan pass's files: every kernel test, and the LLaVA model runtime test (runtime.test.ts: the
// GPU forward against its float64 reference with CLIP/SigLIP towers, Llama/Qwen2 decoders, tap,
// patch, prefixBatch, greedy), to stay inside CI's 15 minutes on 2 cores. The other families'
// runtime tests (Qwen2-VL, Idefics, LLaVA-NeXT/OneVision, VILA: ~3 more minutes on 2 idle cores)
// run with MTV_TEST_VULKAN=all. The rest of the suite has no GPU code of its own to check.
const VULKAN_MODEL_FILES = ['packages/model/test/runtime.test.ts'];
const VULKAN_MODEL_MORE = ['packages/model/test/qwen2-vl-runtime.test.ts', 'packages/model/test/idefics-runtime.test.ts', 'packages/model/test/llava-next-runtime.test.ts', 'packages/model/test/vila-runtime.test.ts'];
const VULKAN_FILES = ['packages/kernels/test/', ...VULKAN_MODEL_FILES, ...(process.env.MTV_TEST_VULKAN === 'all' ? VULKAN_MODEL_MORE : [])];
// Debian's chromium package ships SwiftShader's Vulkan ICD (a CPU Vulkan 1.x driver, conformant);
// bootstrap installs chromium and the Vulkan loader libvulkan1.
const SWIFTSHADER_ICDS = ['/usr/lib/chromium/vk_swiftshader_icd.json', '/usr/lib/chromium-browser/vk_swiftshader_icd.json', '/usr/lib64/chromium/vk_swiftshader_icd.json'];

/** The Vulkan adapter that ICD gives Dawn at core level, or why there is none. */
function probeVulkan(env) {
  const probe = `
    const { create } = await import(${JSON.stringify(join(root, 'node_modules', 'webgpu', 'index.js'))});
    const gpu = create(['backend=vulkan']);
    const a = await gpu.requestAdapter({ featureLevel: 'core' });
    if (!a) { console.log(JSON.stringify({ error: 'Dawn found no Vulkan adapter at core level' })); process.exit(0); }
    console.log(JSON.stringify({ description: a.info.description, device: a.info.device, vendor: a.info.vendor, features: [...a.features].sort() }));
    process.exit(0);`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', probe], { cwd: root, env, encoding: 'utf8' });
  const line = (r.stdout ?? '').trim().split('\n').pop() ?? '';
  try {
    const j = JSON.parse(line);
    if (j.error) return { error: `${j.error}; Dawn said: ${(r.stderr ?? '').trim().replace(/\s+/g, ' ').slice(0, 400) || '(nothing)'}` };
    return j;
  } catch {
    return { error: `the Vulkan probe exited ${r.status}${r.signal ? ` (${r.signal})` : ''}: ${(r.stderr ?? '').trim().slice(0, 400)}` };
  }
}

const filters = process.argv.slice(2);
const t0 = Date.now();
const main = pass('vitest', filters, process.env);
const mainS = (Date.now() - t0) / 1000;
let passed = main.passed;
let failed = main.failed;
console.log(`\nfirst pass (default adapter): ${main.passed} passed, ${main.failed} failed, ${main.skipped} skipped in ${mainS.toFixed(0)} s`);

const want = process.env.MTV_TEST_VULKAN;
if (want === '0') console.log('Vulkan pass: left out (MTV_TEST_VULKAN=0)');
else if (filters.length > 0 && want !== '1' && want !== 'all') console.log('Vulkan pass: left out (file filters given; MTV_TEST_VULKAN=1 runs it over the same filters)');
else if (process.platform !== 'linux') console.log(`Vulkan pass: left out (SwiftShader from Debian's chromium is a Linux set-up; this is ${process.platform})`);
else {
  const icd = process.env.MTV_VK_ICD ?? SWIFTSHADER_ICDS.find((p) => existsSync(p));
  console.log('\n=== Vulkan pass: kernel + model runtime tests on Dawn Vulkan (core level) ===');
  if (!icd) {
    console.log(`Vulkan pass: FAILED to start: no SwiftShader Vulkan ICD at ${SWIFTSHADER_ICDS.join(', ')} (npm run bootstrap installs chromium, which ships it; MTV_VK_ICD=<icd.json> names another)`);
    failed += 1;
  } else {
    const env = {
      ...process.env,
      MTV_GPU_BACKEND: 'vulkan',
      VK_ICD_FILENAMES: icd, // Vulkan loaders before 1.3.207
      VK_DRIVER_FILES: icd, // newer loaders
      MTV_TEST_SHAPES: process.env.MTV_TEST_SHAPES ?? 'small',
    };
    const adapter = probeVulkan(env);
    if (adapter.error) {
      console.log(`Vulkan pass: FAILED to start with ICD ${icd}: ${adapter.error} (npm run bootstrap installs the Vulkan loader libvulkan1)`);
      failed += 1;
    } else {
      console.log(`Vulkan pass adapter: ${adapter.description} (${adapter.vendor} ${adapter.device}), ICD ${icd}, MTV_TEST_SHAPES=${env.MTV_TEST_SHAPES}`);
      console.log(`Vulkan pass adapter features: ${adapter.features.join(', ')}`);
      const t1 = Date.now();
      const vk = pass('vitest-vulkan', filters.length > 0 ? filters : VULKAN_FILES, env);
      passed += vk.passed;
      failed += vk.failed;
      console.log(`\nVulkan pass (${adapter.description}): ${vk.passed} passed, ${vk.failed} failed, ${vk.skipped} skipped in ${((Date.now() - t1) / 1000).toFixed(0)} s`);
    }
  }
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
